//! Who may do what: one exhaustive decision from the roles in the interaction at hand.

use super::action::Act;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// Empty: every member may view.
    pub viewers: Vec<u64>,
    /// Empty: nobody may act.
    pub operators: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    View,
    Act(Act),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `matched_role` is `None` when viewing is open to everyone.
    Allowed { matched_role: Option<u64> },
    /// Any one of `needed` would do; empty when nobody may.
    Denied { needed: Vec<u64> },
}

impl Roles {
    pub fn decide(&self, member_roles: &[u64], permission: Permission) -> Decision {
        let matched = |ids: &[u64]| ids.iter().copied().find(|id| member_roles.contains(id));
        match permission {
            // Operators may always view.
            Permission::View => match (matched(&self.operators), matched(&self.viewers)) {
                (Some(role), _) | (None, Some(role)) => Decision::Allowed { matched_role: Some(role) },
                (None, None) if self.viewers.is_empty() => Decision::Allowed { matched_role: None },
                (None, None) => {
                    Decision::Denied { needed: self.viewers.iter().chain(&self.operators).copied().collect() }
                }
            },
            Permission::Act(Act::Cancel | Act::Stop) => match matched(&self.operators) {
                Some(role) => Decision::Allowed { matched_role: Some(role) },
                None => Decision::Denied { needed: self.operators.clone() },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIEWER: u64 = 10;
    const OPERATOR: u64 = 20;
    const OTHER: u64 = 30;

    #[test]
    fn every_role_and_permission() {
        let roles = Roles { viewers: vec![VIEWER], operators: vec![OPERATOR] };
        let allowed = |role| Decision::Allowed { matched_role: Some(role) };
        assert_eq!(roles.decide(&[VIEWER], Permission::View), allowed(VIEWER));
        assert_eq!(
            roles.decide(&[OPERATOR], Permission::View),
            allowed(OPERATOR),
            "operators may always view"
        );
        assert_eq!(
            roles.decide(&[OTHER], Permission::View),
            Decision::Denied { needed: vec![VIEWER, OPERATOR] }
        );
        assert_eq!(roles.decide(&[], Permission::View), Decision::Denied { needed: vec![VIEWER, OPERATOR] });
        for act in [Act::Cancel, Act::Stop] {
            assert_eq!(roles.decide(&[OTHER, OPERATOR], Permission::Act(act)), allowed(OPERATOR));
            assert_eq!(
                roles.decide(&[VIEWER], Permission::Act(act)),
                Decision::Denied { needed: vec![OPERATOR] }
            );
        }
    }

    #[test]
    fn empty_lists_mean_everyone_views_and_nobody_acts() {
        let roles = Roles::default();
        assert_eq!(roles.decide(&[OTHER], Permission::View), Decision::Allowed { matched_role: None });
        assert_eq!(roles.decide(&[OTHER], Permission::Act(Act::Stop)), Decision::Denied { needed: vec![] });
    }
}
