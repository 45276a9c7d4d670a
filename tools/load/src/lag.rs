//! Follower lag of a replicated ledger under load: the leader's and a follower's checkpoint
//! sizes sampled side by side; for every size the leader served, the time until the follower
//! served that size too.

use greenledger::rpc::pb;
use greenledger::testkit::client::connect;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Samples both nodes until `stop`; returns the lag figures as JSON.
pub async fn watch(leader: String, follower: String, stop: Arc<AtomicBool>) -> anyhow::Result<serde_json::Value> {
    let mut l = connect(&leader).await?;
    let mut f = connect(&follower).await?;
    let started = Instant::now();
    let mut leader_seen: Vec<(Duration, u64)> = Vec::new();
    let mut follower_seen: Vec<(Duration, u64)> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let (a, b) =
            tokio::join!(l.get_checkpoint(pb::GetCheckpointRequest {}), f.get_checkpoint(pb::GetCheckpointRequest {}));
        let now = started.elapsed();
        if let Ok(a) = a {
            let size = a.into_inner().size;
            if leader_seen.last().is_none_or(|(_, s)| *s < size) {
                leader_seen.push((now, size));
            }
        }
        if let Ok(b) = b {
            let size = b.into_inner().size;
            if follower_seen.last().is_none_or(|(_, s)| *s < size) {
                follower_seen.push((now, size));
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // For each size the leader showed: when the follower first showed at least it. A size the
    // follower never reached counts with its lag so far (a lower bound), so a follower that
    // falls behind is not reported as keeping up.
    let end = started.elapsed();
    let mut lags: Vec<f64> = Vec::new();
    let mut unreached = 0u64;
    let mut j = 0;
    for (t, size) in &leader_seen {
        while j < follower_seen.len() && follower_seen[j].1 < *size {
            j += 1;
        }
        let reached = match follower_seen.get(j) {
            Some((tf, _)) => *tf,
            None => {
                unreached += 1;
                end
            }
        };
        lags.push(reached.saturating_sub(*t).as_secs_f64() * 1e3);
    }
    lags.sort_by(f64::total_cmp);
    let at = |q: f64| if lags.is_empty() { 0.0 } else { lags[((lags.len() - 1) as f64 * q).round() as usize] };
    Ok(serde_json::json!({
        "follower_lag_samples": lags.len(),
        "follower_lag_unreached": unreached,
        "follower_lag_p50_ms": at(0.5),
        "follower_lag_p99_ms": at(0.99),
        "follower_lag_max_ms": at(1.0),
        "follower_final_size": follower_seen.last().map_or(0, |(_, s)| *s),
        "leader_final_size": leader_seen.last().map_or(0, |(_, s)| *s),
    }))
}
