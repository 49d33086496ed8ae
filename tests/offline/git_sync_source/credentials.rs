//! The token: refused in URLs, never sent over plain HTTP to another host or across a redirect,
//! never on disk or in error text, and clear advice when a remote wants credentials.

use std::io::Write;
use std::net::TcpListener;

use hhdash::git::{GitError, TOKEN_USERNAME, fetch_snapshot, redact_url};
use hhdash::secret::Secret;
use tempfile::TempDir;

use super::loopback::{GitHttpServer, Redirector, base64};
use super::{
    TOKEN, assert_no_token, content, fabric_repo, git, paths, single_cache, source, tree_listing,
};

#[test]
fn a_url_with_userinfo_is_refused_and_not_echoed() {
    let cache = TempDir::new().unwrap();
    for url in [
        "https://deploy:hunter2@git.example.invalid/fabric.git",
        "https://hunter2@git.example.invalid/fabric.git",
    ] {
        let err = fetch_snapshot(&source(url, "main", ""), cache.path()).unwrap_err();
        assert!(matches!(err, GitError::CredentialsInUrl { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("token_env") && text.contains("token_file"),
            "{text}"
        );
        assert!(
            text.contains("https://git.example.invalid/fabric.git"),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !format!("{err:?}").contains("hunter2"),
            "{text}"
        );
    }
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    assert_eq!(
        redact_url("https://deploy:hunter2@git.example.invalid/fabric.git"),
        "https://git.example.invalid/fabric.git"
    );
}

#[test]
fn a_token_is_never_sent_over_plain_http_to_another_host() {
    let token = Secret::new(TOKEN);
    let cache = TempDir::new().unwrap();
    let mut src = source("http://git.example.invalid/fabric.git", "main", "");
    src.token = Some(&token);
    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::InsecureTokenTransport { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("https://"), "{err}");
    assert_no_token(&err);
}

#[test]
fn the_token_appears_in_no_error_text() {
    let token = Secret::new(TOKEN);
    let cache = TempDir::new().unwrap();
    let repo = fabric_repo();
    let local = repo.url();
    let file_url = repo.file_url();
    let plain = TempDir::new().unwrap();
    let server = GitHttpServer::start(Some(TOKEN));
    server.publish("fabric.git", &repo);
    let http_url = server.url("fabric.git");
    let url_with_token = format!("https://{TOKEN}@git.example.invalid/x.git");
    let url_with_pair = format!("https://user:{TOKEN}@git.example.invalid/x.git");
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/fabric.git")
    };

    let mut src = source(&http_url, "main", "");
    src.token = Some(&token);
    assert!(!format!("{src:?}").contains(TOKEN), "{src:?}");

    let cases: Vec<(&str, &str, &str)> = vec![
        (&local, "main", "nope"),
        (&local, "nope", "fabric"),
        (&local, "main", "../.."),
        (&local, "main..x", ""),
        (plain.path().to_str().unwrap(), "main", ""),
        (&file_url, "nope", ""),
        (&file_url, "main", "nope"),
        (&url_with_token, "main", ""),
        (&url_with_pair, "main", ""),
        ("http://git.example.invalid/x.git", "main", ""),
        ("ftp://git.example.invalid/x.git", "main", ""),
        (&closed_port, "main", ""),
        (&http_url, "nope", ""),
        (&http_url, "main", "nope"),
    ];
    let mut kinds = std::collections::BTreeSet::new();
    for (url, branch, directory) in cases {
        let mut src = source(url, branch, directory);
        src.token = Some(&token);
        let err = fetch_snapshot(&src, cache.path()).unwrap_err();
        assert_no_token(&err);
        kinds.insert(
            format!("{err:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    // Wrong token against the server: the answer must not echo what was sent either.
    let wrong = Secret::new(format!("{TOKEN}-wrong"));
    let mut src = source(&http_url, "main", "");
    src.token = Some(&wrong);
    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    assert_no_token(&err);
    kinds.insert("AuthenticationFailed".to_owned());

    for kind in [
        "DirectoryNotFound",
        "BranchNotFound",
        "InvalidDirectory",
        "InvalidBranch",
        "RepositoryNotFound",
        "CredentialsInUrl",
        "InsecureTokenTransport",
        "InvalidUrl",
        "Transport",
        "AuthenticationFailed",
    ] {
        assert!(kinds.contains(kind), "no case provoked {kind}: {kinds:?}");
    }
}

#[test]
fn an_https_style_remote_gets_the_token_as_a_credential_never_on_disk() {
    let repo = fabric_repo();
    let server = GitHttpServer::start(Some(TOKEN));
    server.publish("fabric.git", &repo);
    let url = server.url("fabric.git");
    let token = Secret::new(format!("{TOKEN}\n"));
    let cache = TempDir::new().unwrap();
    let mut src = source(&url, "main", "fabric/wiring");
    src.token = Some(&token);

    let snapshot = fetch_snapshot(&src, cache.path()).unwrap();
    assert_eq!(snapshot.commit, repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(
        paths(&snapshot),
        [
            "fabric/wiring/leaf/connections.yaml",
            "fabric/wiring/switches.yml"
        ]
    );

    // The server saw basic auth with the documented user name and the trimmed token.
    let expected = format!(
        "Basic {}",
        base64(format!("{TOKEN_USERNAME}:{TOKEN}").as_bytes())
    );
    let seen = server.authorizations();
    assert!(seen.contains(&expected), "{seen:?}");
    // The URL never carried it.
    assert!(server.request_lines().iter().all(|l| !l.contains(TOKEN)));

    // Not a byte of the token anywhere in the cache: config, refs, packs, logs.
    let cached = single_cache(cache.path());
    assert_eq!(git(&cached, &["config", "remote.origin.url"]), url);
    for (path, bytes) in tree_listing(&cached) {
        assert!(
            !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
            "token written to {}",
            path.display()
        );
    }

    // A second fetch after a push authenticates again and sees the new commit.
    repo.write("fabric/wiring/switches.yml", "kind: Switch\nname: s2\n");
    let c2 = repo.commit("second switch");
    server.publish("fabric.git", &repo);
    let again = fetch_snapshot(&src, cache.path()).unwrap();
    assert_eq!(again.commit, c2);
    assert_eq!(
        content(&again, "fabric/wiring/switches.yml"),
        "kind: Switch\nname: s2\n"
    );
}

#[test]
fn a_remote_that_wants_credentials_fails_with_advice() {
    let repo = fabric_repo();
    let server = GitHttpServer::start(Some(TOKEN));
    server.publish("fabric.git", &repo);
    let url = server.url("fabric.git");
    let cache = TempDir::new().unwrap();

    // No token configured: no prompt, no user credential helper, a clear error.
    let err = fetch_snapshot(&source(&url, "main", ""), cache.path()).unwrap_err();
    let GitError::AuthenticationFailed {
        token_configured, ..
    } = &err
    else {
        panic!("expected AuthenticationFailed, got {err:?}")
    };
    assert!(!token_configured);
    assert!(
        err.to_string()
            .contains("configure a token with token_env or token_file"),
        "{err}"
    );

    let wrong = Secret::new("not-the-token");
    let mut src = source(&url, "main", "");
    src.token = Some(&wrong);
    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(
        matches!(
            err,
            GitError::AuthenticationFailed {
                token_configured: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("check that the token"), "{err}");
    assert!(!err.to_string().contains("not-the-token"), "{err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn an_http_remote_without_auth_and_a_missing_repository() {
    let repo = fabric_repo();
    let server = GitHttpServer::start(None);
    server.publish("open.git", &repo);
    let cache = TempDir::new().unwrap();

    let snapshot = fetch_snapshot(
        &source(&server.url("open.git"), "main", "fabric"),
        cache.path(),
    )
    .unwrap();
    assert_eq!(snapshot.files.len(), 3);

    let err =
        fetch_snapshot(&source(&server.url("gone.git"), "main", ""), cache.path()).unwrap_err();
    assert!(
        matches!(err, GitError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("404"), "{err}");

    let err =
        fetch_snapshot(&source(&server.url("open.git"), "nope", ""), cache.path()).unwrap_err();
    let GitError::BranchNotFound { existing, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(existing, &["main"]);
}

#[test]
fn an_https_remote_that_does_not_speak_tls_is_a_transport_error() {
    // Proves the TLS stack is set up (a missing crypto provider would panic here) and that a
    // handshake failure becomes an actionable error rather than a hang.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    });
    let url = format!("https://127.0.0.1:{port}/fabric.git");
    let token = Secret::new(TOKEN);
    let cache = TempDir::new().unwrap();
    let mut src = source(&url, "main", "");
    src.token = Some(&token);
    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(matches!(err, GitError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");
    assert_no_token(&err);
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn a_redirect_to_another_origin_never_gets_the_token() {
    // The other origin is a real git server that would accept the token: if hhdash sent it,
    // the fetch would succeed and the server would have seen it.
    let repo = fabric_repo();
    let elsewhere = GitHttpServer::start(Some(TOKEN));
    elsewhere.publish("fabric.git", &repo);
    let redirector = Redirector::start(elsewhere.port);
    let token = Secret::new(TOKEN);
    let cache = TempDir::new().unwrap();
    let redirecting_url = redirector.url("fabric.git");
    let mut src = source(&redirecting_url, "main", "");
    src.token = Some(&token);

    let err = fetch_snapshot(&src, cache.path()).unwrap_err();
    assert!(
        elsewhere.authorizations().is_empty(),
        "the other origin received credentials: {:?}",
        elsewhere.authorizations()
    );
    assert!(
        !elsewhere.request_lines().is_empty(),
        "the redirect was followed (without credentials)"
    );
    assert!(redirector.authorizations().is_empty());
    assert!(
        matches!(err, GitError::RedirectedElsewhere { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&elsewhere.url("fabric.git")), "{text}");
    assert!(text.contains("set git.url"), "{text}");
    assert_no_token(&err);

    // The same server asked directly gets the token: the refusal is about the origin.
    let direct_url = elsewhere.url("fabric.git");
    let mut direct = source(&direct_url, "main", "");
    direct.token = Some(&token);
    fetch_snapshot(&direct, cache.path()).unwrap();
    assert!(!elsewhere.authorizations().is_empty());
}
