//! Who holds a claim, and whether it is still alive.
//!
//! An owner is `host:pid:start`, where `start` is the process's start time
//! as the kernel counts it (so a reused pid is not mistaken for the owner).
//! A claim is alive while its lease has not run out and, on the owner's own
//! host, while that process still exists. A dead claim whose create may have
//! been sent is in doubt; one that never sent its create is free again.

use std::sync::OnceLock;

/// How long a claim lives without renewal, in seconds, unless
/// `SEEDANCE_MINI_LEASE_SECS` says otherwise.
pub(crate) const LEASE_SECS: i64 = 30;

/// How long this process's claims live without renewal, in seconds:
/// `SEEDANCE_MINI_LEASE_SECS` (2 to 3600) when set, else [`LEASE_SECS`].
/// A shorter lease hands a stalled worker's unsent jobs on sooner; it must
/// stay well above the longest pause a live worker makes.
pub(crate) fn lease_secs() -> i64 {
    static LEASE: OnceLock<i64> = OnceLock::new();
    *LEASE.get_or_init(|| {
        std::env::var("SEEDANCE_MINI_LEASE_SECS")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|s| (2..=3600).contains(s))
            .unwrap_or(LEASE_SECS)
    })
}

/// How often the owner renews its leases: a third of the lease.
pub(crate) fn renew_every() -> std::time::Duration {
    std::time::Duration::from_millis(lease_secs() as u64 * 1000 / 3)
}

/// This process, as an owner.
pub(crate) fn me() -> &'static str {
    static ME: OnceLock<String> = OnceLock::new();
    ME.get_or_init(|| {
        let pid = std::process::id();
        format!("{}:{pid}:{}", host(), start_time(pid).unwrap_or(0))
    })
}

static HOST: OnceLock<String> = OnceLock::new();

/// Names this machine `name` (the CLI's `--host-id`), before anything
/// asks; false if it was named already.
#[cfg(feature = "cli")]
pub(crate) fn set_host(name: &str) -> bool {
    HOST.set(name.trim().replace(':', "-")).is_ok()
}

/// This machine's name: `--host-id` or `SEEDANCE_MINI_HOST_ID` when set,
/// else the kernel's host name.
pub(crate) fn host() -> &'static str {
    HOST.get_or_init(|| {
        let from_env = std::env::var("SEEDANCE_MINI_HOST_ID").ok();
        let from_kernel = || std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
        let from_shell = || std::env::var("HOSTNAME").ok();
        from_env
            .or_else(from_kernel)
            .or_else(from_shell)
            .map(|h| h.trim().replace(':', "-"))
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    })
}

/// A process's start time in clock ticks since boot (Linux), to tell a pid
/// reused by another process from the one that claimed.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields
    // are counted after its closing parenthesis. `starttime` is field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the claim of `owner`, leased until `lease_until` (unix seconds),
/// is alive at `now`. A row with no owner (written before claims existed)
/// has none.
pub(crate) fn alive(owner: Option<&str>, lease_until: Option<i64>, now: i64) -> bool {
    let (Some(owner), Some(until)) = (owner, lease_until) else {
        return false;
    };
    if until < now {
        return false;
    }
    if owner == me() {
        return true;
    }
    let mut parts = owner.rsplitn(3, ':');
    let (Some(start), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return true;
    };
    if host != self::host() || !std::path::Path::new("/proc/self/stat").exists() {
        // Another machine (or no /proc to ask): the lease alone decides.
        return true;
    }
    match (pid.parse::<u32>(), start.parse::<u64>()) {
        (Ok(pid), Ok(start)) => start_time(pid) == Some(start),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_gone_or_reused_pid_is_not() {
        let now = 1_000;
        let until = Some(now + LEASE_SECS);
        assert!(alive(Some(me()), until, now));
        assert!(!alive(Some(me()), Some(now - 1), now), "lease ran out");
        assert!(!alive(None, until, now), "no owner");
        let host = host();
        let pid = std::process::id();
        if start_time(pid).is_some() {
            let reused = format!("{host}:{pid}:1");
            assert!(!alive(Some(&reused), until, now), "same pid, other start");
            let gone = format!("{host}:4194999:1");
            assert!(!alive(Some(&gone), until, now), "no such pid");
        }
        assert!(alive(Some("elsewhere:1:1"), until, now), "another host");
    }
}
