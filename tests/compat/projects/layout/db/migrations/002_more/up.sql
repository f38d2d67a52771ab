ALTER TABLE widget ADD COLUMN weight real;
