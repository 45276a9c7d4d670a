-- The benchmark's peer: a certificate registry in PostgreSQL whose every accepted transfer and
-- retirement is appended to a hash chain, doing the checks the ledger's rules do for the same
-- commands (tools/pg-peer/README.md). Loaded into a throw-away cluster by run.sh:
--
--   psql -v accounts=1000 -v bundles=100000 -f schema.sql
--
-- What it does not do that the ledger does: verify an Ed25519 signature per command, keep a
-- Merkle tree and sign checkpoints. Refused commands are not logged, as in the ledger.

\set ON_ERROR_STOP on

-- Accounts; `consumer` is the role a retirement needs.
CREATE TABLE accounts (
    id integer PRIMARY KEY,
    name text NOT NULL,
    consumer boolean NOT NULL
);

-- Bundles of certificates: serials [serial_start, serial_end), one certificate per 1 MWh.
-- A transfer or retirement of part of a bundle splits it as the ledger does: the cut piece gets
-- a new id and the remainder keeps the bundle's id (a second new id for a right remainder).
CREATE TABLE certificates (
    bundle_id bigint PRIMARY KEY,
    owner integer NOT NULL,
    serial_start bigint NOT NULL,
    serial_end bigint NOT NULL,
    state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    parent bigint,
    transferable boolean NOT NULL DEFAULT true,
    transfers integer NOT NULL DEFAULT 0,
    production timestamptz NOT NULL,
    expires timestamptz NOT NULL,
    CHECK (serial_start < serial_end)
);
CREATE SEQUENCE bundle_ids;

-- Consumption posted per account and month, and how much of it claims already used: a
-- retirement may claim only posted consumption (the ledger's draw on consumption readings).
CREATE TABLE consumption (
    account integer NOT NULL,
    period date NOT NULL,
    posted_wh bigint NOT NULL,
    claimed_wh bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account, period),
    CHECK (claimed_wh <= posted_wh)
);

-- Claims made by retirements.
CREATE TABLE claims (
    seq bigint PRIMARY KEY,
    bundle_id bigint NOT NULL,
    account integer NOT NULL,
    wh bigint NOT NULL,
    period date NOT NULL,
    beneficiary text NOT NULL,
    purpose text NOT NULL
);

-- The hash chain: row `seq` holds the previous row's hash and its own,
-- hash = sha256(prev || payload). `chain_head` is the one row every append locks first
-- (SELECT ... FOR UPDATE), so appends are strictly serial, in commit order, as in the ledger.
CREATE TABLE log (
    seq bigint PRIMARY KEY,
    prev bytea NOT NULL,
    hash bytea NOT NULL,
    payload bytea NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE chain_head (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash bytea NOT NULL
);

-- Appends `payload` to the chain inside the caller's transaction; returns its sequence number.
CREATE FUNCTION gl_append(payload jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head chain_head;
    body bytea := convert_to(payload::text, 'UTF8');
    h bytea;
BEGIN
    SELECT * INTO STRICT head FROM chain_head WHERE id = 1 FOR UPDATE;
    h := sha256(head.hash || body);
    INSERT INTO log (seq, prev, hash, payload) VALUES (head.seq + 1, head.hash, h, body);
    UPDATE chain_head SET seq = head.seq + 1, hash = h WHERE id = 1;
    RETURN head.seq + 1;
END $$;

-- The checks a transfer and a retirement share (the ledger's `usable_bundle`), on the bundle's
-- row as the caller locked it (all NULL when there is none): the bundle exists, the signer owns
-- it, the serials lie within it, it is active and not expired. NULL when it may be used.
CREATE FUNCTION gl_refusal(b certificates, signer integer, s_from bigint, s_to bigint)
        RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN b.bundle_id IS NULL THEN 'unknown bundle'
        WHEN b.owner <> signer THEN 'not the owner'
        WHEN s_from >= s_to OR s_from < b.serial_start OR s_to > b.serial_end THEN 'serials outside the bundle'
        WHEN b.state <> 'active' THEN 'bundle is ' || b.state
        WHEN b.expires <= now() THEN 'expired'
    END
$$;

-- Cuts [s_from, s_to) out of bundle `b` as the ledger's `split_off` does and gives the cut
-- piece to `new_owner` in `new_state`; returns the cut piece's id (`b`'s own for the whole).
CREATE FUNCTION gl_split(b certificates, s_from bigint, s_to bigint, new_owner integer,
                         new_state text, new_transfers integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cut bigint;
BEGIN
    IF s_from = b.serial_start AND s_to = b.serial_end THEN
        UPDATE certificates SET owner = new_owner, state = new_state, transfers = new_transfers
            WHERE bundle_id = b.bundle_id;
        RETURN b.bundle_id;
    END IF;
    cut := nextval('bundle_ids');
    IF s_from = b.serial_start THEN
        UPDATE certificates SET serial_start = s_to WHERE bundle_id = b.bundle_id;
    ELSE
        UPDATE certificates SET serial_end = s_from WHERE bundle_id = b.bundle_id;
        IF s_to < b.serial_end THEN
            INSERT INTO certificates (bundle_id, owner, serial_start, serial_end, state, parent,
                                      transferable, transfers, production, expires)
            VALUES (nextval('bundle_ids'), b.owner, s_to, b.serial_end, b.state, b.bundle_id,
                    b.transferable, b.transfers, b.production, b.expires);
        END IF;
    END IF;
    INSERT INTO certificates (bundle_id, owner, serial_start, serial_end, state, parent,
                              transferable, transfers, production, expires)
    VALUES (cut, new_owner, s_from, s_to, new_state, b.bundle_id, b.transferable, new_transfers,
            b.production, b.expires);
    RETURN cut;
END $$;

-- A transfer of serials [s_from, s_to) of bundle `bid` by `signer` to `recipient`. Returns
-- 'ok <seq>' or 'refused: <reason>'; a refusal changes nothing and appends nothing.
CREATE FUNCTION gl_transfer(signer integer, bid bigint, s_from bigint, s_to bigint,
                            recipient integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    b certificates;
    refusal text;
    cut bigint;
BEGIN
    SELECT * INTO b FROM certificates WHERE bundle_id = bid FOR UPDATE;
    refusal := gl_refusal(b, signer, s_from, s_to);
    IF refusal IS NOT NULL THEN
        RETURN 'refused: ' || refusal;
    END IF;
    IF NOT b.transferable THEN
        RETURN 'refused: not transferable';
    END IF;
    IF recipient = signer THEN
        RETURN 'refused: the same party on both sides';
    END IF;
    PERFORM 1 FROM accounts WHERE id = recipient;
    IF NOT FOUND THEN
        RETURN 'refused: unknown account';
    END IF;
    cut := gl_split(b, s_from, s_to, recipient, 'active', b.transfers + 1);
    RETURN 'ok ' || gl_append(jsonb_build_object(
        'kind', 'transfer', 'signer', signer, 'bundle', bid, 'serials', jsonb_build_array(s_from, s_to),
        'to', recipient, 'as', cut));
END $$;

-- A retirement of serials [s_from, s_to) of bundle `bid` by `signer` (a consumer) against its
-- consumption of this month, for `beneficiary` and `purpose`. Returns as gl_transfer does.
CREATE FUNCTION gl_retire(signer integer, bid bigint, s_from bigint, s_to bigint,
                          beneficiary text, purpose text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    b certificates;
    refusal text;
    cut bigint;
    wh bigint := (s_to - s_from) * 1000000;
    month date := date_trunc('month', now())::date;
    seq bigint;
BEGIN
    IF length(beneficiary) NOT BETWEEN 1 AND 200 OR length(purpose) NOT BETWEEN 1 AND 200 THEN
        RETURN 'refused: bad text';
    END IF;
    SELECT * INTO b FROM certificates WHERE bundle_id = bid FOR UPDATE;
    refusal := gl_refusal(b, signer, s_from, s_to);
    IF refusal IS NOT NULL THEN
        RETURN 'refused: ' || refusal;
    END IF;
    PERFORM 1 FROM accounts WHERE id = signer AND consumer;
    IF NOT FOUND THEN
        RETURN 'refused: the signer is not a consumer';
    END IF;
    UPDATE consumption SET claimed_wh = claimed_wh + wh
        WHERE account = signer AND period = month AND claimed_wh + wh <= posted_wh;
    IF NOT FOUND THEN
        RETURN 'refused: the claim exceeds the consumption posted';
    END IF;
    cut := gl_split(b, s_from, s_to, signer, 'retired', b.transfers);
    seq := gl_append(jsonb_build_object(
        'kind', 'retire', 'signer', signer, 'bundle', bid, 'serials', jsonb_build_array(s_from, s_to),
        'beneficiary', beneficiary, 'purpose', purpose, 'period', month, 'as', cut));
    INSERT INTO claims (seq, bundle_id, account, wh, period, beneficiary, purpose)
        VALUES (seq, cut, signer, wh, month, beneficiary, purpose);
    RETURN 'ok ' || seq;
END $$;

-- The start state: :accounts consumer accounts, :bundles bundles of 1,000 certificates each
-- (owner by round robin), consumption posted for this month that no run uses up, and the
-- chain's genesis row.
INSERT INTO accounts (id, name, consumer)
    SELECT i, 'account ' || i, true FROM generate_series(1, :accounts) AS i;
INSERT INTO certificates (bundle_id, owner, serial_start, serial_end, production, expires)
    SELECT i, (i % :accounts) + 1, i * 1000, i * 1000 + 1000, now() - interval '30 days',
           now() + interval '1 year'
    FROM generate_series(1, :bundles) AS i;
SELECT setval('bundle_ids', :bundles);
INSERT INTO consumption (account, period, posted_wh)
    SELECT id, date_trunc('month', now())::date, 1000000000000000 FROM accounts;
INSERT INTO log (seq, prev, hash, payload)
    VALUES (0, '\x'::bytea, sha256(convert_to('{"kind": "genesis"}', 'UTF8')),
            convert_to('{"kind": "genesis"}', 'UTF8'));
INSERT INTO chain_head (id, seq, hash) SELECT 1, seq, hash FROM log WHERE seq = 0;
VACUUM ANALYZE;
