-- pgbench: a transfer of the first 3 certificates of a random bundle to a random account, by
-- the bundle's owner as the client last knew it, or about one time in 43 by another account
-- (refused: not the owner). As in the ledger's load, a transfer splits the bundle.
\set b random(1, :bundles)
\set to random(1, :accounts)
\set wrong random(1, 43)
SELECT gl_transfer(CASE WHEN :wrong = 1 THEN owner % :accounts + 1 ELSE owner END,
                   bundle_id, serial_start, serial_start + 3, :to)
    FROM certificates WHERE bundle_id = :b;
