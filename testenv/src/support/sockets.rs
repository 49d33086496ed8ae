//! The TCP connections a process holds to a port, as the kernel sees them: how the tests and
//! the fleet bench check that a fabric costs its API server one connection. Linux only
//! (/proc).

use std::collections::HashSet;

/// Established TCP connections of process `pid` to remote port `port`: the sockets among its
/// file descriptors (/proc/PID/fd) whose inode /proc/PID/net/tcp{,6} lists as ESTABLISHED
/// with that remote port. The tables hold the whole network namespace (the API server's own
/// loopback clients, other processes), hence the match on the process's own inodes.
pub fn established_to(pid: u32, port: u16) -> usize {
    let ours: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
                .filter_map(|target| {
                    let target = target.to_string_lossy().to_string();
                    Some(
                        target
                            .strip_prefix("socket:[")?
                            .strip_suffix(']')?
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let remote = format!(":{port:04X}");
    let mut count = 0;
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl, local, remote, state (01 = ESTABLISHED), …, inode is the tenth.
            if fields.len() > 9
                && fields[2].ends_with(&remote)
                && fields[3] == "01"
                && ours.contains(fields[9])
            {
                count += 1;
            }
        }
    }
    count
}
