//! The throw-away PostgreSQL of the test kit (`greenledger::testkit::postgres`): a cluster
//! starts and answers, a standby streams a committed row and takes over after the primary is
//! killed, a synchronous standby holds every row the primary acknowledged, a killed cluster
//! recovers on restart, and the harness refuses what it cannot do.
//!
//! Without PostgreSQL each test prints that it is skipped, unless `GREENLEDGER_REQUIRE_PG=1`
//! (CI installs PostgreSQL and sets it), where a missing PostgreSQL fails.

use greenledger::testkit::postgres::{start_or_skip, PgCluster, PgError, STANDBY_NAME};
use std::time::{Duration, Instant};

/// Polls `sql` on `pg` until it returns `want`, for up to a minute.
fn wait_for_value(pg: &PgCluster, sql: &str, want: &str) {
    let start = Instant::now();
    loop {
        let got = pg.psql(sql);
        if matches!(&got, Ok(v) if v == want) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{sql} never returned {want:?}; last: {got:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_cluster_starts_answers_and_is_deleted_on_drop() {
    let Some(pg) = start_or_skip("a_cluster_starts_answers_and_is_deleted_on_drop") else { return };
    assert_eq!(pg.url(), format!("postgres://postgres@127.0.0.1:{}/greenledger", pg.port()));
    assert_eq!(pg.psql("SELECT current_database()").expect("query"), "greenledger");
    for (setting, want) in [
        ("wal_level", "replica"),
        ("fsync", "on"),
        ("synchronous_commit", "on"),
        ("listen_addresses", "127.0.0.1"),
        ("port", &pg.port().to_string()),
        ("synchronous_standby_names", ""),
    ] {
        assert_eq!(pg.psql(&format!("SHOW {setting}")).expect("SHOW"), want, "{setting}");
    }
    assert_ne!(pg.psql("SHOW max_wal_senders").expect("SHOW"), "0");
    assert_eq!(pg.psql("SELECT pg_is_in_recovery()").expect("query"), "f");

    pg.psql("CREATE TABLE t (k int PRIMARY KEY, v text)").expect("create");
    pg.psql("INSERT INTO t VALUES (1, 'one'), (2, 'two')").expect("insert");
    assert_eq!(pg.psql("SELECT k, v FROM t ORDER BY k").expect("select"), "1|one\n2|two");

    // A statement the server refuses is an error naming the server's reason, and changes nothing.
    let err = pg.psql("INSERT INTO t VALUES (1, 'again')").expect_err("duplicate key refused");
    assert!(matches!(&err, PgError::Failed { output, .. } if output.contains("duplicate key")), "{err}");
    let err = pg.psql("SELECT * FROM missing_table").expect_err("unknown table refused");
    assert!(err.to_string().contains("missing_table"), "{err}");
    assert_eq!(pg.psql("SELECT k, v FROM t ORDER BY k").expect("select"), "1|one\n2|two");

    let dir = pg.dir().to_path_buf();
    assert!(dir.join("data").join("PG_VERSION").is_file());
    assert!(pg.log_tail(100).contains("ready to accept connections"), "{}", pg.log_tail(100));
    drop(pg);
    assert!(!dir.exists(), "{} still exists after the drop", dir.display());
}

#[test]
fn a_standby_streams_a_committed_row_and_takes_over_after_the_primary_is_killed() {
    let Some(mut primary) = start_or_skip("a_standby_streams_a_committed_row_and_takes_over") else { return };
    primary.psql("CREATE TABLE t (k int PRIMARY KEY)").expect("create");
    primary.psql("INSERT INTO t VALUES (1)").expect("insert before the copy");
    let standby = PgCluster::standby_of(&primary, false).expect("standby");
    assert_ne!(standby.port(), primary.port());
    assert_eq!(standby.psql("SELECT pg_is_in_recovery()").expect("query"), "t");
    assert_eq!(
        primary
            .psql(&format!(
                "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'"
            ))
            .expect("query"),
        "streaming|async"
    );

    primary.psql("INSERT INTO t VALUES (2)").expect("insert streamed");
    wait_for_value(&standby, "SELECT string_agg(k::text, ',' ORDER BY k) FROM t", "1,2");
    // A hot standby reads and refuses writes.
    let err = standby.psql("INSERT INTO t VALUES (3)").expect_err("standby is read-only");
    assert!(err.to_string().contains("read-only transaction"), "{err}");

    primary.kill().expect("kill the primary");
    assert!(!primary.is_running());
    assert!(primary.psql("SELECT 1").is_err(), "the killed primary still answers");

    standby.promote().expect("promote");
    assert_eq!(standby.psql("SELECT pg_is_in_recovery()").expect("query"), "f");
    assert_eq!(standby.psql("SELECT string_agg(k::text, ',' ORDER BY k) FROM t").expect("select"), "1,2");
    // The new primary takes writes, without waiting for a standby it does not have.
    standby.psql("INSERT INTO t VALUES (3)").expect("write after promotion");
    assert_eq!(standby.psql("SELECT count(*) FROM t").expect("count"), "3");
}

#[test]
fn every_row_acknowledged_by_a_synchronous_primary_survives_its_loss() {
    let Some(mut primary) = start_or_skip("every_row_acknowledged_by_a_synchronous_primary_survives_its_loss") else {
        return;
    };
    primary.psql("CREATE TABLE t (k int PRIMARY KEY)").expect("create");
    let standby = PgCluster::standby_of(&primary, true).expect("synchronous standby");
    assert_eq!(primary.psql("SHOW synchronous_standby_names").expect("SHOW"), STANDBY_NAME);
    assert_eq!(
        primary
            .psql(&format!("SELECT sync_state FROM pg_stat_replication WHERE application_name = '{STANDBY_NAME}'"))
            .expect("query"),
        "sync"
    );
    // Each commit is acknowledged (psql returns) and then the primary is lost at once, with no
    // wait for the standby to catch up.
    for k in 1..=20 {
        primary.psql(&format!("INSERT INTO t VALUES ({k})")).expect("commit");
    }
    primary.kill().expect("kill the primary");
    standby.promote().expect("promote");
    assert_eq!(standby.psql("SELECT count(*), min(k), max(k) FROM t").expect("select"), "20|1|20");
}

#[test]
fn a_killed_cluster_recovers_its_committed_rows_on_restart() {
    let Some(mut pg) = start_or_skip("a_killed_cluster_recovers_its_committed_rows_on_restart") else { return };
    pg.psql("CREATE TABLE t (k int PRIMARY KEY)").expect("create");
    pg.psql("INSERT INTO t SELECT generate_series(1, 1000)").expect("insert");
    let port = pg.port();
    pg.kill().expect("kill");
    assert!(pg.psql("SELECT 1").is_err(), "the killed cluster still answers");
    pg.restart().expect("restart after the crash");
    assert_eq!(pg.port(), port);
    assert_eq!(pg.psql("SELECT count(*) FROM t").expect("count"), "1000");
    assert!(pg.log_tail(200).contains("database system was interrupted"), "{}", pg.log_tail(200));
}

#[test]
fn the_harness_refuses_what_it_cannot_do_and_changes_nothing() {
    let Some(mut pg) = start_or_skip("the_harness_refuses_what_it_cannot_do_and_changes_nothing") else { return };
    for bad in ["standby'; DROP TABLE t; --", "", "two words"] {
        let err = pg.make_synchronous(bad).expect_err("bad standby name refused");
        assert!(matches!(&err, PgError::BadStandbyName(n) if n == bad), "{err}");
        assert!(err.to_string().contains("only ASCII letters, digits and '_'"), "{err}");
    }
    let err = PgCluster::standby_named(&pg, "a-b").expect_err("bad standby name refused");
    assert!(matches!(&err, PgError::BadStandbyName(n) if n == "a-b"), "{err}");
    assert_eq!(pg.psql("SHOW synchronous_standby_names").expect("SHOW"), "");

    pg.kill().expect("kill");
    let err = pg.kill().expect_err("a second kill refused");
    assert!(matches!(&err, PgError::NotRunning { step } if step == "kill"), "{err}");
    let err = pg.promote().expect_err("promoting a stopped cluster refused");
    assert!(matches!(&err, PgError::NotRunning { step } if step == "promote"), "{err}");
}

#[test]
fn a_standby_copied_from_a_synchronous_primary_does_not_inherit_its_synchronous_standby() {
    let Some(mut primary) = start_or_skip("a_standby_copied_from_a_synchronous_primary") else { return };
    primary.psql("CREATE TABLE t (k int PRIMARY KEY)").expect("create");
    let _first = PgCluster::standby_of(&primary, true).expect("synchronous standby1");
    // The copy is taken while the primary names standby1 in synchronous_standby_names.
    let second = PgCluster::standby_named(&primary, "standby2").expect("standby2");
    assert_eq!(
        primary.psql("SELECT application_name, sync_state FROM pg_stat_replication ORDER BY 1").expect("query"),
        "standby1|sync\nstandby2|async"
    );
    primary.psql("INSERT INTO t VALUES (1)").expect("commit");
    wait_for_value(&second, "SELECT count(*) FROM t", "1");
    primary.kill().expect("kill the primary");
    second.promote().expect("promote standby2");
    // Promoted alone, it must not wait for a standby1 it does not have.
    assert_eq!(second.psql("SHOW synchronous_standby_names").expect("SHOW"), "");
    second.psql("INSERT INTO t VALUES (2)").expect("write after promotion");
    assert_eq!(second.psql("SELECT string_agg(k::text, ',' ORDER BY k) FROM t").expect("select"), "1,2");
}
