-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_name = 'team' AND column_name = 'slug'
    ) THEN
        ALTER TABLE team ADD COLUMN slug text;
        UPDATE team SET slug = lower(replace(name, ' ', '-'));
        ALTER TABLE team ALTER COLUMN slug SET NOT NULL;
    END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE team DROP COLUMN slug;
