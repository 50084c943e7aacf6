//! Which key and which endpoint each provider gets.
//!
//! A key belongs to one provider at one origin. `--api-key` and `--base-url`
//! apply to `--provider` alone; every other provider a run touches takes its
//! own from `<NAME>_API_KEY` and `<NAME>_BASE_URL`, or from its profile in the
//! credentials file:
//!
//! ```toml
//! [anyfast]
//! api_key = "..."
//! base_url = "https://www.anyfast.ai"   # optional
//! ```
//!
//! The file must be private to its owner (mode 0600), as `gh`, `aws` and
//! `oxide` ask of theirs. A run never falls back to another provider's key.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Cli;
use crate::{ApiKey, Error, Provider};

/// A credentials file larger than this is not one.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// One provider's calls: the key and where they go.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The key for this provider alone.
    pub(crate) key: ApiKey,
    /// Another endpoint than the provider's own, when one was given.
    pub(crate) base_url: Option<String>,
}

impl Endpoint {
    /// Whether this endpoint's key may be sent to `url`: only to the origin
    /// it was given for.
    pub(crate) fn serves(&self, provider: Provider, url: &str) -> bool {
        let ours = self
            .base_url
            .as_deref()
            .unwrap_or(provider.default_base_url());
        match (reqwest::Url::parse(ours), reqwest::Url::parse(url)) {
            (Ok(a), Ok(b)) => a.origin() == b.origin(),
            _ => false,
        }
    }
}

/// A provider's profile in the credentials file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    api_key: Option<String>,
    base_url: Option<String>,
}

/// Where each provider's key and endpoint come from, for one run.
pub(crate) struct Endpoints<'a> {
    cli: &'a Cli,
    /// The credentials file's profiles, read once when first needed.
    file: std::cell::OnceCell<(PathBuf, BTreeMap<Provider, Profile>)>,
}

impl<'a> Endpoints<'a> {
    pub(crate) fn new(cli: &'a Cli) -> Self {
        Endpoints {
            cli,
            file: std::cell::OnceCell::new(),
        }
    }

    /// The key and endpoint for `provider`, or why there is none.
    pub(crate) fn resolve(&self, provider: Provider) -> Result<Endpoint, Error> {
        let own = provider == self.cli.provider;
        let flag_key = own.then(|| self.cli.api_keys.first().cloned()).flatten();
        let flag_base = own.then(|| self.cli.base_url.clone()).flatten();
        let env = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
        let key_var = provider.key_env_var();
        let base_var = base_url_var(provider);
        let key = flag_key.or_else(|| env(key_var));
        let base_url = flag_base.or_else(|| env(&base_var));
        // The file is read only when the flags and variables leave a gap, so
        // a run that names its key needs no file.
        let (key, base_url) = if key.is_some() && base_url.is_some() {
            (key, base_url)
        } else {
            let profile = self.profiles()?.1.get(&provider);
            (
                key.or_else(|| profile.and_then(|p| p.api_key.clone())),
                base_url.or_else(|| profile.and_then(|p| p.base_url.clone())),
            )
        };
        let path = self.path();
        let file = path.display();
        let Some(key) = key else {
            return Err(if own {
                Error::validation(
                    "--api-key",
                    format!("is required: pass --api-key, set {key_var}, or try --mock; or give it a [{provider}] profile in {file}"),
                )
            } else {
                Error::validation(
                    "--api-key",
                    format!(
                        "applies only to --provider {}; for {provider}, set {key_var} or give it a [{provider}] profile with api_key in {file}",
                        self.cli.provider
                    ),
                )
            });
        };
        if !own && base_url.is_none() && self.cli.base_url.is_some() {
            // Sending this provider's calls to its real endpoint, when the
            // run was pointed elsewhere, could pay for what was meant for a
            // mock; sending them to --base-url could hand its key to a host
            // meant for another provider. Neither is guessed.
            return Err(Error::validation(
                "--base-url",
                format!(
                    "applies only to --provider {}; for {provider}, set {base_var} or add base_url to the [{provider}] profile in {file}",
                    self.cli.provider
                ),
            ));
        }
        if let Some(url) = &base_url {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                let from = if own && self.cli.base_url.is_some() {
                    "--base-url".to_string()
                } else if env(&base_var).is_some() {
                    base_var.clone()
                } else {
                    format!("base_url of [{provider}] in {file}")
                };
                return Err(Error::validation(
                    &from,
                    format!("`{url}` has no scheme: write http://{url} (or https://)"),
                ));
            }
        }
        Ok(Endpoint {
            key: ApiKey::new(key),
            base_url,
        })
    }

    /// The credentials file: `--credentials`, else the default place.
    fn path(&self) -> PathBuf {
        self.cli.credentials.clone().unwrap_or_else(default_path)
    }

    fn profiles(&self) -> Result<&(PathBuf, BTreeMap<Provider, Profile>), Error> {
        if let Some(loaded) = self.file.get() {
            return Ok(loaded);
        }
        let path = self.path();
        let profiles = load(&path, self.cli.credentials.is_some())?;
        Ok(self.file.get_or_init(|| (path, profiles)))
    }
}

/// `<NAME>_BASE_URL`: another endpoint for one provider.
pub(crate) fn base_url_var(provider: Provider) -> String {
    format!("{}_BASE_URL", provider.name().to_ascii_uppercase())
}

/// `$SEEDANCE_MINI_HOME/credentials.toml`, else the platform's config
/// directory (`~/.config/seedance-mini/credentials.toml` on Linux).
pub(crate) fn default_path() -> PathBuf {
    if let Some(home) = std::env::var_os("SEEDANCE_MINI_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home).join("credentials.toml");
    }
    directories::ProjectDirs::from("", "", "seedance-mini")
        .map(|d| d.config_dir().join("credentials.toml"))
        .unwrap_or_else(|| PathBuf::from("credentials.toml"))
}

fn refuse(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::validation("--credentials", format!("{}: {why}", path.display()))
}

/// Reads the profiles; a file that is absent is no profiles, unless it was
/// named with `--credentials`.
fn load(path: &Path, explicit: bool) -> Result<BTreeMap<Provider, Profile>, Error> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(BTreeMap::new())
        }
        Err(e) => return Err(refuse(path, format!("cannot read it: {e}"))),
    };
    let meta = file
        .metadata()
        .map_err(|e| refuse(path, format!("cannot read it: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(refuse(
                path,
                format!(
                    "holds keys but others can read it (mode {mode:04o}); run `chmod 600 {}`",
                    path.display()
                ),
            ));
        }
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(refuse(
            path,
            "is larger than 64 KiB; it is not a credentials file",
        ));
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| refuse(path, format!("cannot read it: {e}")))?;
    // toml's own rendering quotes the offending line, which may hold a key:
    // say only where, and what rule.
    let raw: BTreeMap<String, Profile> = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or(&text).lines().count().max(1))
            .map(|n| format!("line {n}: "))
            .unwrap_or_default();
        refuse(path, format!("{line}{}", e.message()))
    })?;
    let mut profiles = BTreeMap::new();
    for (name, profile) in raw {
        let provider: Provider = name.parse().map_err(|_| {
            refuse(
                path,
                format!("[{name}] is not a provider ({})", Provider::names()),
            )
        })?;
        profiles.insert(provider, profile);
    }
    Ok(profiles)
}
