GRANT SELECT ON TABLE my-catalog.finance.transactions TO `Analysts.NonProd`;
