GRANT CREATE_TABLE ON CATALOG datalake TO `Analysts.NonProd`;
GRANT USE_CATALOG ON TABLE datalake.finance.transactions TO `Analysts.NonProd`;
