GRANT SELECT ON TABLE datalake.finance.transactions TO `Analysts.NonProd` /* unterminated
