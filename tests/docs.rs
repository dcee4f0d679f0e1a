//! The documents keep up with the code: every variable is documented, and CI runs the README's
//! test command.

use wsc_bot::config::VARIABLES;

const README: &str = include_str!("../README.md");
const ENV_EXAMPLE: &str = include_str!("../.env.example");
const CI: &str = include_str!("../.ci/run");

#[test]
fn every_variable_is_in_env_example_and_readme() {
    for var in VARIABLES {
        assert!(
            ENV_EXAMPLE.lines().any(|l| l.starts_with(&format!("{var}="))),
            "{var} missing from .env.example"
        );
        assert!(README.contains(&format!("`{var}`")), "{var} missing from the README");
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let command = README
        .split("```sh\n")
        .filter_map(|block| block.split("```").next())
        .flat_map(str::lines)
        .find(|line| line.starts_with("cargo fmt --check"))
        .expect("the README gives the test command");
    assert!(CI.lines().any(|line| line == command), ".ci/run must run `{command}`");
}

/// CI's release build is the Dockerfile's, from exactly its build context. It runs beside the
/// tests at the lowest CPU priority, and CI fails when it fails.
#[test]
fn ci_builds_the_docker_build_stage_from_its_own_context() {
    let lines: Vec<&str> = CI.lines().collect();
    let position = |wanted: &dyn Fn(&str) -> bool, what: &str| {
        lines.iter().position(|l| wanted(l)).unwrap_or_else(|| panic!(".ci/run must {what}"))
    };
    let check = position(
        &|l| l.contains("nice -n 19 scripts/docker-build-check") && l.ends_with('&'),
        "start scripts/docker-build-check in the background at the lowest priority",
    );
    let tests = position(&|l| l.ends_with("&& cargo test --locked"), "run the test command");
    let waited = position(&|l| l == "if ! wait \"$release\"; then", "wait for the release build");
    assert!(check < tests && tests < waited, "build, tests, then wait for the build");
    assert_eq!(lines.get(waited + 3).map(|l| l.trim()), Some("exit 1"), "fail when the build fails");
}
