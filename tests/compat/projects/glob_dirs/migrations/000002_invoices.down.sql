DROP TABLE invoice;
DROP TABLE customer;
