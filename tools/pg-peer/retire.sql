-- pgbench: a retirement of the first 2 certificates of a random bundle by its owner, claimed
-- against the owner's consumption of this month. As in the ledger's load, it splits the bundle.
\set b random(1, :bundles)
SELECT gl_retire(owner, bundle_id, serial_start, serial_start + 2, 'Battery factory', 'annual report')
    FROM certificates WHERE bundle_id = :b;
