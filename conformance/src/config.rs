//! Choosing the target: environment variables, runner flags, and the manifest file.
//!
//! | variable | flag | manifest key | meaning |
//! |---|---|---|---|
//! | `P2PCHAT_SERVER_CMD` | `--server-cmd` | `server_cmd` | launch command with `{port}` (and optionally `{db}`) |
//! | `P2PCHAT_SERVER_ADDR` | `--server-addr` | `server_addr` | `host:port` of a running server |
//! | `P2PCHAT_SERVER_PROFILES` | `--server-profiles` | `server_profiles` | profiles claimed (default `core`; `all` for the reference) |
//! | `P2PCHAT_CLIENT_CMD` | `--client-cmd` | `client_cmd` | client launch command, `{server} {nick} {port} {datadir}` |
//! | `P2PCHAT_CLIENT_SERVERLESS_CMD` | `--client-serverless-cmd` | `client_serverless_cmd` | serverless client command, `{nick} {port} {peer} {datadir}` |
//! | `P2PCHAT_CLIENT_PROFILES` | `--client-profiles` | `client_profiles` | client profiles claimed (default `core`; `all` for the reference) |
//! | `P2PCHAT_TIMEOUT_SCALE` | `--timeout-scale` | `timeout_scale` | multiplies every deadline |
//! | `P2PCHAT_SLOW` | `--slow` | `slow` | run the slow cases (server timers) |
//! | `P2PCHAT_SERVER_LIMITS` | `--server-limits` | `server_limits` | the server's timers and limits, e.g. `keepalive=2,idle=5,partial=2,max_connections=200` |

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::profile::{self, Profile};
use crate::target::{ClientTarget, ServerKind, ServerLimits, ServerTarget, Target};

/// The environment variables the suite reads, in the order replay commands show them.
pub const ENV_VARS: [&str; 9] = [
    "P2PCHAT_SERVER_CMD",
    "P2PCHAT_SERVER_ADDR",
    "P2PCHAT_SERVER_PROFILES",
    "P2PCHAT_CLIENT_CMD",
    "P2PCHAT_CLIENT_SERVERLESS_CMD",
    "P2PCHAT_CLIENT_PROFILES",
    "P2PCHAT_TIMEOUT_SCALE",
    "P2PCHAT_SLOW",
    "P2PCHAT_SERVER_LIMITS",
];

/// One implementation's settings, from the environment, flags or a manifest entry.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    pub server_cmd: Option<String>,
    pub server_addr: Option<String>,
    #[serde(default, deserialize_with = "de_profiles")]
    pub server_profiles: Option<String>,
    pub client_cmd: Option<String>,
    pub client_serverless_cmd: Option<String>,
    #[serde(default, deserialize_with = "de_profiles")]
    pub client_profiles: Option<String>,
    pub timeout_scale: Option<f64>,
    pub slow: Option<bool>,
    /// The server's timers and limits as it declares them ([`ServerLimits::parse`]).
    pub server_limits: Option<String>,
    /// Directory the launch commands run in (manifest: relative to the manifest file).
    pub workdir: Option<PathBuf>,
}

/// Profiles may be written `"core,query"` or `["core", "query"]`.
fn de_profiles<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum P {
        S(String),
        L(Vec<String>),
    }
    Ok(Some(match <P as serde::Deserialize>::deserialize(d)? {
        P::S(s) => s,
        P::L(l) => l.join(","),
    }))
}

impl TargetSettings {
    /// Reads the `P2PCHAT_*` environment variables.
    pub fn from_env() -> Result<TargetSettings, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Ok(TargetSettings {
            server_cmd: var("P2PCHAT_SERVER_CMD"),
            server_addr: var("P2PCHAT_SERVER_ADDR"),
            server_profiles: var("P2PCHAT_SERVER_PROFILES"),
            client_cmd: var("P2PCHAT_CLIENT_CMD"),
            client_serverless_cmd: var("P2PCHAT_CLIENT_SERVERLESS_CMD"),
            client_profiles: var("P2PCHAT_CLIENT_PROFILES"),
            timeout_scale: var("P2PCHAT_TIMEOUT_SCALE")
                .map(|v| {
                    v.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite() && *f > 0.0)
                        .ok_or_else(|| {
                            format!("P2PCHAT_TIMEOUT_SCALE={v:?} is not a positive number")
                        })
                })
                .transpose()?,
            slow: var("P2PCHAT_SLOW").map(|v| !matches!(v.trim(), "0" | "false" | "no")),
            server_limits: var("P2PCHAT_SERVER_LIMITS"),
            workdir: None,
        })
    }

    /// Whether any target is named at all.
    pub fn names_a_target(&self) -> bool {
        self.server_cmd.is_some()
            || self.server_addr.is_some()
            || self.client_cmd.is_some()
            || self.client_serverless_cmd.is_some()
    }

    /// `other`'s values where it has them, else ours.
    pub fn overridden_by(&self, other: &TargetSettings) -> TargetSettings {
        TargetSettings {
            server_cmd: other.server_cmd.clone().or_else(|| self.server_cmd.clone()),
            server_addr: other
                .server_addr
                .clone()
                .or_else(|| self.server_addr.clone()),
            server_profiles: other
                .server_profiles
                .clone()
                .or_else(|| self.server_profiles.clone()),
            client_cmd: other.client_cmd.clone().or_else(|| self.client_cmd.clone()),
            client_serverless_cmd: other
                .client_serverless_cmd
                .clone()
                .or_else(|| self.client_serverless_cmd.clone()),
            client_profiles: other
                .client_profiles
                .clone()
                .or_else(|| self.client_profiles.clone()),
            timeout_scale: other.timeout_scale.or(self.timeout_scale),
            slow: other.slow.or(self.slow),
            server_limits: other
                .server_limits
                .clone()
                .or_else(|| self.server_limits.clone()),
            workdir: other.workdir.clone().or_else(|| self.workdir.clone()),
        }
    }

    /// The settings as environment variables (for replay commands).
    pub fn as_env(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        let mut put = |k: &str, val: Option<String>| {
            if let Some(val) = val {
                v.push((k.to_owned(), val));
            }
        };
        put("P2PCHAT_SERVER_CMD", self.server_cmd.clone());
        put("P2PCHAT_SERVER_ADDR", self.server_addr.clone());
        put("P2PCHAT_SERVER_PROFILES", self.server_profiles.clone());
        put("P2PCHAT_CLIENT_CMD", self.client_cmd.clone());
        put(
            "P2PCHAT_CLIENT_SERVERLESS_CMD",
            self.client_serverless_cmd.clone(),
        );
        put("P2PCHAT_CLIENT_PROFILES", self.client_profiles.clone());
        put(
            "P2PCHAT_TIMEOUT_SCALE",
            self.timeout_scale.map(|f| f.to_string()),
        );
        put("P2PCHAT_SERVER_LIMITS", self.server_limits.clone());
        put(
            "P2PCHAT_SLOW",
            self.slow.filter(|s| *s).map(|_| "1".to_owned()),
        );
        v
    }

    /// The settings as runner flags (for replay commands).
    pub fn as_flags(&self) -> Vec<String> {
        let mut v = Vec::new();
        let mut put = |k: &str, val: Option<String>| {
            if let Some(val) = val {
                v.push(k.to_owned());
                v.push(val);
            }
        };
        put("--server-cmd", self.server_cmd.clone());
        put("--server-addr", self.server_addr.clone());
        put("--server-profiles", self.server_profiles.clone());
        put("--client-cmd", self.client_cmd.clone());
        put(
            "--client-serverless-cmd",
            self.client_serverless_cmd.clone(),
        );
        put("--client-profiles", self.client_profiles.clone());
        put("--timeout-scale", self.timeout_scale.map(|f| f.to_string()));
        put("--server-limits", self.server_limits.clone());
        put(
            "--workdir",
            self.workdir
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        );
        if self.slow == Some(true) {
            v.push("--slow".to_owned());
        }
        v
    }

    /// Builds the target. `default_server` and `default_client` are used when nothing at
    /// all is named (the reference server and client in `cargo test`); naming only a server
    /// judges only that server, naming only a client only that client.
    pub fn build(
        &self,
        name: &str,
        default_server: Option<(ServerKind, BTreeSet<Profile>)>,
        default_client: Option<ClientTarget>,
    ) -> Result<Target, String> {
        if self.server_cmd.is_some() && self.server_addr.is_some() {
            return Err("give a server command or a server address, not both".into());
        }
        let claimed = |s: &Option<String>| -> Result<Option<BTreeSet<Profile>>, String> {
            s.as_deref()
                .map(|s| profile::parse_list(s, &Profile::SERVER))
                .transpose()
        };
        let server_profiles = claimed(&self.server_profiles)?;
        let core_only = || BTreeSet::from([Profile::Core]);
        let server = if let Some(cmd) = &self.server_cmd {
            crate::target::split_command(cmd)?;
            if !cmd.contains("{port}") {
                return Err(format!(
                    "the server command has no {{port}} placeholder: {cmd:?}"
                ));
            }
            Some(ServerTarget {
                kind: ServerKind::Command {
                    template: cmd.clone(),
                    workdir: self.workdir.clone(),
                },
                profiles: server_profiles.unwrap_or_else(core_only),
            })
        } else if let Some(addr) = &self.server_addr {
            Some(ServerTarget {
                kind: ServerKind::Address(addr.clone()),
                profiles: server_profiles.unwrap_or_else(core_only),
            })
        } else if self.client_cmd.is_some() || self.client_serverless_cmd.is_some() {
            None
        } else {
            default_server.map(|(kind, profiles)| ServerTarget {
                kind,
                profiles: server_profiles.unwrap_or(profiles),
            })
        };
        let client_profiles = self
            .client_profiles
            .as_deref()
            .map(|s| profile::parse_list(s, &Profile::ALL))
            .transpose()?;
        let client = if self.client_cmd.is_some() || self.client_serverless_cmd.is_some() {
            Some(ClientTarget {
                cmd: self.client_cmd.clone(),
                serverless_cmd: self.client_serverless_cmd.clone(),
                kind: crate::client::ClientKind::Command {
                    workdir: self.workdir.clone(),
                },
                profiles: client_profiles.unwrap_or_else(core_only),
            })
        } else if self.server_cmd.is_some() || self.server_addr.is_some() {
            None
        } else {
            default_client.map(|mut c| {
                if let Some(p) = client_profiles {
                    c.profiles = p;
                }
                c
            })
        };
        Ok(Target {
            name: name.to_owned(),
            server,
            client,
            timeout_scale: self.timeout_scale.unwrap_or(1.0),
            slow: self.slow.unwrap_or(false),
            limits: self
                .server_limits
                .as_deref()
                .map(ServerLimits::parse)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// A manifest: `[implementations.<name>]` tables of [`TargetSettings`].
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub implementations: BTreeMap<String, TargetSettings>,
}

impl Manifest {
    pub fn parse(text: &str, dir: &Path) -> Result<Manifest, String> {
        let mut m: Manifest = toml::from_str(text).map_err(|e| format!("manifest: {e}"))?;
        for s in m.implementations.values_mut() {
            s.workdir = Some(match &s.workdir {
                Some(w) if w.is_relative() => dir.join(w),
                Some(w) => w.clone(),
                None => dir.to_path_buf(),
            });
        }
        if m.implementations.is_empty() {
            return Err("manifest: no [implementations.<name>] table".into());
        }
        Ok(m)
    }

    pub fn load(path: &Path) -> Result<Manifest, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read manifest {}: {e}", path.display()))?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        Manifest::parse(&text, &dir)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses() {
        let m = Manifest::parse(
            r#"
[implementations.py]
server_cmd = "python3 core_server.py --port {port}"
server_profiles = ["core"]
timeout_scale = 2.0

[implementations.running]
server_addr = "127.0.0.1:1337"
server_profiles = "core,query"
"#,
            Path::new("/m"),
        )
        .unwrap();
        let py = &m.implementations["py"];
        assert_eq!(py.server_profiles.as_deref(), Some("core"));
        assert_eq!(py.workdir.as_deref(), Some(Path::new("/m")));
        let t = py.build("py", None, None).unwrap();
        assert_eq!(t.timeout_scale, 2.0);
        let r = m.implementations["running"]
            .build("running", None, None)
            .unwrap();
        assert_eq!(r.server_profiles().len(), 2);
        assert!(Manifest::parse("[implementations.x]\nbogus = 1\n", Path::new(".")).is_err());
    }
}
