//! The binary: one ready line on stdout, the files it names, clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn ready_line_then_clean_sigterm() {
    let dir = std::env::temp_dir().join(format!("wxpay-mock-bin-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_wxpay-mock"))
        .args([
            "--tls",
            "--listen",
            "127.0.0.1:0",
            "--backup-listen",
            "127.0.0.1:0",
        ])
        .arg("--state-dir")
        .arg(&dir)
        .env("WXPAY_MOCK_MCH_ID", "1900000109")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("ready JSON");
    assert_eq!(ready["event"], "ready");
    assert_eq!(ready["tls"], true);
    assert_eq!(ready["mch_id"], "1900000109");
    let port = ready["port"].as_u64().expect("port");
    assert_eq!(ready["url"], format!("https://127.0.0.1:{port}"));
    assert!(
        ready["backup_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://127.0.0.1:"))
    );
    assert_eq!(ready["key"].as_str().map(str::len), Some(32));
    for (name, file) in [
        ("ca_path", "ca.pem"),
        ("cert_path", "client.pem"),
        ("key_path", "client-key.pem"),
        ("server_cert_path", "server.pem"),
        ("server_key_path", "server-key.pem"),
    ] {
        let path = ready[name].as_str().expect(name);
        assert_eq!(std::path::Path::new(path), dir.join(file));
        assert!(
            std::fs::read_to_string(path)
                .expect(file)
                .starts_with("-----BEGIN")
        );
    }
    // A signal straight from the test: a minimal system has no kill(1) binary.
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with a pid this test spawned and still owns (not yet waited for).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill");
    let status = child.wait().expect("exit");
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_documents_every_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_wxpay-mock"))
        .arg("--help")
        .output()
        .expect("help");
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--backup-listen",
        "--tls",
        "--state-dir",
        "--state-file",
        "--time-scale",
        "--appid",
        "--mch-id",
        "--key",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help");
    }
}
