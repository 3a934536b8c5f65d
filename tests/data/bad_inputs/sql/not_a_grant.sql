DROP TABLE datalake.finance.transactions;
