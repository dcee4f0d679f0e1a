//! Two `wsc-bot run` replicas on one token and one PostgreSQL: one is connected to the gateway,
//! the other stands by; the commands are registered once; when the connected one is killed
//! (`kill -9`), the other connects and serves.

mod common;

use std::time::Duration;

use common::bot::*;
use common::fake_discord::FakeDiscord;
use common::process::BotProcess;
use common::settings;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_is_connected_and_the_other_takes_over_when_it_is_killed() {
    let database = common::postgres::database().await;
    let extra = [("WSC_DATABASE_URL", database)];
    let (bot, first) =
        start_process_in(Front::Gateway, FakeDiscord::start().await, settings(), 5, &extra).await;
    let vars = test_vars(&bot.discord, &bot.sim, 5, &extra);
    let second = BotProcess::spawn(&["run"], &vars);
    bot.still_serves().await;
    // The sentinel for the standby: long enough for it to have connected, were it going to.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(bot.discord.stats().identifies, 1, "one replica connected, the other standing by");
    let registrations = || bot.discord.rest_calls().iter().filter(|c| c.method == "PUT").count();
    assert_eq!(registrations(), 1, "the commands registered once");

    drop(first); // kill -9 of the connected replica
    assert!(
        bot.discord.wait_stats(|s| s.identifies >= 2, Duration::from_secs(30)).await,
        "the standby connected once the lease lapsed"
    );
    assert!(bot.discord.wait_ready(Duration::from_secs(10)).await);
    let id = bot.command(&viewer(), "jobs", json!([])).await;
    let jobs = bot.original(id).await;
    assert_eq!(jobs["embeds"].as_array().map(Vec::len), Some(5), "the survivor serves");
    assert_eq!(registrations(), 1, "not registered again by the survivor");
    drop(second);
    bot.finish().await;
}
