//! The AWS shared configuration files, `~/.aws/credentials` and `~/.aws/config` (or the files
//! named by `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`), for the settings the
//! environment leaves unset: keys, session token, region and endpoint of the profile
//! `AWS_PROFILE` (default `default`). Parsing is a pure function of the files' text.

use object_store::aws::AmazonS3ConfigKey;

/// A setting the files can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setting {
    AccessKeyId,
    SecretAccessKey,
    SessionToken,
    Region,
    Endpoint,
}

impl Setting {
    /// The environment variable that takes precedence over the files.
    pub(crate) fn env_name(self) -> &'static str {
        match self {
            Setting::AccessKeyId => "AWS_ACCESS_KEY_ID",
            Setting::SecretAccessKey => "AWS_SECRET_ACCESS_KEY",
            Setting::SessionToken => "AWS_SESSION_TOKEN",
            Setting::Region => "AWS_REGION",
            Setting::Endpoint => "AWS_ENDPOINT_URL",
        }
    }

    /// The object store's key for it.
    pub(crate) fn config_key(self) -> AmazonS3ConfigKey {
        match self {
            Setting::AccessKeyId => AmazonS3ConfigKey::AccessKeyId,
            Setting::SecretAccessKey => AmazonS3ConfigKey::SecretAccessKey,
            Setting::SessionToken => AmazonS3ConfigKey::Token,
            Setting::Region => AmazonS3ConfigKey::Region,
            Setting::Endpoint => AmazonS3ConfigKey::Endpoint,
        }
    }

    fn of_file_key(key: &str) -> Option<Setting> {
        Some(match key {
            "aws_access_key_id" => Setting::AccessKeyId,
            "aws_secret_access_key" => Setting::SecretAccessKey,
            "aws_session_token" => Setting::SessionToken,
            "region" => Setting::Region,
            "endpoint_url" => Setting::Endpoint,
            _ => return None,
        })
    }
}

/// The settings of `profile` in one file's text. In the config file a profile's section is
/// `[profile NAME]` (`[default]` for the default one); in the credentials file it is `[NAME]`.
pub(crate) fn parse(text: &str, profile: &str, config_file: bool) -> Vec<(Setting, String)> {
    let wanted = if config_file && profile != "default" {
        format!("profile {profile}")
    } else {
        profile.to_string()
    };
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = section.trim() == wanted;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if let Some(s) = Setting::of_file_key(k.trim()) {
                out.retain(|(o, _)| *o != s);
                out.push((s, v.trim().to_string()));
            }
        }
    }
    out
}

/// The settings of the current profile from both files (credentials first, then config; an
/// unreadable or missing file gives none).
pub(crate) fn settings() -> Vec<(Setting, String)> {
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |env: &str, name: &str| {
        std::env::var_os(env)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let mut out = Vec::new();
    for (path, config) in [
        (file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), false),
        (file("AWS_CONFIG_FILE", "config"), true),
    ] {
        if let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) {
            for (s, v) in parse(&text, &profile, config) {
                if !out.iter().any(|(o, _)| *o == s) {
                    out.push((s, v));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_s_settings_are_read_from_its_section() {
        let creds = "[default]\naws_access_key_id = AK\naws_secret_access_key=SK\n\n[other]\naws_access_key_id = OTHER\n";
        assert_eq!(
            parse(creds, "default", false),
            vec![
                (Setting::AccessKeyId, "AK".into()),
                (Setting::SecretAccessKey, "SK".into())
            ]
        );
        assert_eq!(
            parse(creds, "other", false),
            vec![(Setting::AccessKeyId, "OTHER".into())]
        );
        let config = "# comment\n[profile dev]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9000\noutput = json\n[default]\nregion = us-east-1\n";
        assert_eq!(
            parse(config, "dev", true),
            vec![
                (Setting::Region, "eu-west-1".into()),
                (Setting::Endpoint, "http://127.0.0.1:9000".into())
            ]
        );
        assert_eq!(
            parse(config, "default", true),
            vec![(Setting::Region, "us-east-1".into())]
        );
        assert!(parse(config, "missing", true).is_empty());
    }
}
