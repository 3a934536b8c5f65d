GRANT SELECT ON TABLE datalake.finance.transactions TO `nobody.here@company.com`;
