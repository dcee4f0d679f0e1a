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

/// CI's release build is the Dockerfile's, from exactly its build context, after the tests.
#[test]
fn ci_builds_the_docker_build_stage_from_its_own_context() {
    let lines: Vec<&str> = CI.lines().collect();
    let tests = lines.iter().position(|l| l.ends_with("&& cargo test --locked")).expect("the test command");
    let check =
        lines.iter().position(|l| *l == "scripts/docker-build-check").expect(".ci/run runs the check");
    assert!(tests < check, "the release build comes after the tests");
}
