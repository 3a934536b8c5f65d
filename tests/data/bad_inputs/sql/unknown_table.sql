GRANT SELECT ON TABLE datalake.finance.no_such_table TO `Analysts.NonProd`;
