GRANT SELECT ON TABLE datalake.finance.transactions TO `Analysts.NonProd`;
GRANT SELEKT ON TABLE datalake.finance.transactions TO `Analysts.NonProd`;
