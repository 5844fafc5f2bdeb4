//! URLs in, a [`Server`] and [`Target`]s out: parsing, name resolution, and asking the server
//! how large each file is.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Uri};

use super::client::{Protocol, Sender, Server, exchange};
use super::error::LoadError;
use super::workload::{Expect, Planned, Target};

/// The server the URLs name (they must all name the same one) and each URL's path and query.
pub async fn resolve(urls: &[String]) -> Result<(Server, Vec<String>), LoadError> {
    let mut authority: Option<String> = None;
    let mut paths = Vec::with_capacity(urls.len());
    for url in urls {
        let bad = |reason: &str| LoadError::Url {
            url: url.clone(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|_| bad("not a URL; write it like http://127.0.0.1:8080/path"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "https is not supported; load the server's plain-HTTP listener",
                ));
            }
            _ => return Err(bad("needs http:// in front")),
        }
        let Some(auth) = uri.authority() else {
            return Err(bad("names no host"));
        };
        let auth = match auth.port_u16() {
            Some(_) => auth.as_str().to_owned(),
            None => format!("{}:80", auth.host()),
        };
        match &authority {
            Some(a) if *a != auth => {
                return Err(bad(&format!(
                    "names another server than the first URL ({a}); load one server per run"
                )));
            }
            _ => authority = Some(auth),
        }
        paths.push(
            uri.path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        );
    }
    let Some(authority) = authority else {
        return Err(LoadError::invalid(
            "no URL to load: give at least one --url",
        ));
    };
    let addr = tokio::net::lookup_host(authority.as_str())
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| LoadError::Url {
            url: urls[0].clone(),
            reason: format!("{authority} does not resolve to an address"),
        })?;
    Ok((Server { addr, authority }, paths))
}

/// Asks the server (HEAD) how large each path is, from its `Content-Length`.
pub async fn probe_sizes(
    server: &Server,
    paths: &[String],
    protocol: Protocol,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Vec<Target>, LoadError> {
    let url = |path: &str| format!("http://{}{path}", server.authority);
    let mut sender =
        Sender::connect(server, protocol)
            .await
            .map_err(|reason| LoadError::Probe {
                url: url(paths.first().map_or("/", String::as_str)),
                reason,
            })?;
    let mut targets = Vec::with_capacity(paths.len());
    for path in paths {
        let planned = Planned {
            method: Method::HEAD,
            path: path.clone(),
            headers: headers.to_vec(),
            body: Bytes::new(),
            expect: Expect::Status(200),
        };
        let size = head_length(&mut sender, server, &planned)
            .await
            .map_err(|reason| LoadError::Probe {
                url: url(path),
                reason,
            })?;
        targets.push(Target {
            path: path.clone(),
            size,
        });
    }
    Ok(targets)
}

async fn head_length(
    sender: &mut Sender,
    server: &Server,
    planned: &Planned,
) -> Result<u64, String> {
    let ex = exchange(sender, server, planned).await;
    let Some(head) = ex.head else {
        return Err(ex
            .result
            .err()
            .map_or_else(|| "no answer".to_owned(), |f| f.kind()));
    };
    if head.status != 200 {
        return Err(format!("HEAD answered {}, not 200", head.status));
    }
    head.content_length
        .ok_or_else(|| "HEAD answer has no Content-Length; pass --size".to_owned())
}
