//! The secret values every test gives the code under test, in one place: `tests/secrets.rs` and
//! `scripts/secret-scan` (which reads this file) look for exactly these in the logs.

/// The bot token the test bots use and the fake Discord accepts (`Authorization: Bot <token>`).
pub const DISCORD_TOKEN: &str = "fake-discord-token-never-logged";
/// The NCP key pair the simulator accepts.
pub const ACCESS_KEY: &str = "AK-test-access-key";
pub const SECRET_KEY: &str = "SK-test-secret-key-do-not-leak";

/// The pair a key-rotation test moves the simulator and the key files to.
pub const ROTATED_ACCESS_KEY: &str = "AK-rotated-access-key";
pub const ROTATED_SECRET_KEY: &str = "SK-rotated-secret-key-do-not-leak";

/// The password in every PostgreSQL URL the tests give the bot (`WSC_DATABASE_URL`); the test
/// server trusts loopback and ignores it, but the bot must never log it.
pub const DATABASE_PASSWORD: &str = "db-password-never-logged";

/// Every value above.
pub const ALL: [&str; 6] =
    [DISCORD_TOKEN, ACCESS_KEY, SECRET_KEY, ROTATED_ACCESS_KEY, ROTATED_SECRET_KEY, DATABASE_PASSWORD];
