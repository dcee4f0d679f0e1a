//! Who may do what: one table from what an interaction asks for to the permission it needs,
//! and one decision from the roles in the interaction at hand. Both are checked once, before
//! any flow runs.

use super::action::{Act, Request, Wanted};

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

/// The permission `request` needs; `None` for what calls nothing and shows nothing (input the
/// bot refuses with a sentence, autocomplete of anything but a job number).
pub fn permission(request: &Request) -> Option<Permission> {
    match request {
        Request::Jobs { .. } | Request::Page { .. } | Request::Report { .. } | Request::Audit { .. } => {
            Some(Permission::View)
        }
        // It changes nothing, but it is a button anyone who sees the message could click.
        Request::Keep { .. } => Some(Permission::View),
        Request::Ask { act, .. } | Request::Confirm { act, .. } | Request::OpenReason { act, .. } => {
            Some(Permission::Act(*act))
        }
        // Billed: the confirmation is shown only to those who may start one.
        Request::Scan { .. } | Request::Rescan { .. } | Request::ConfirmScan { .. } => {
            Some(Permission::Act(Act::Scan))
        }
        Request::StopAll { .. } | Request::ConfirmStopAll { .. } => Some(Permission::Act(Act::Stop)),
        Request::Choices { wanted: Wanted::Act(act), .. } => Some(Permission::Act(*act)),
        Request::Choices { wanted: Wanted::Report, .. } => Some(Permission::View),
        Request::NoChoices | Request::Invalid(_) => None,
    }
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
            Permission::Act(Act::Cancel | Act::Stop | Act::Scan) => match matched(&self.operators) {
                Some(role) => Decision::Allowed { matched_role: Some(role) },
                None => Decision::Denied { needed: self.operators.clone() },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::action::{
        AuditFilter, CustomIdError, FilterError, InstanceIdError, Invalid, JobFilter, ReasonError,
    };
    use crate::wsc::ScanSpeed;

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
        for act in [Act::Cancel, Act::Stop, Act::Scan] {
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

    #[test]
    fn the_permission_every_request_needs() {
        let filter = JobFilter::default();
        let view = Some(Permission::View);
        let act = |act| Some(Permission::Act(act));
        let table = [
            (Request::Jobs { page: 1, private: false, filter: filter.clone(), shortened: false }, view),
            (Request::Page { page: 2, filter: filter.clone(), origin: Some(5) }, view),
            (Request::Page { page: 2, filter: filter.clone(), origin: None }, view),
            (Request::Report { instance: 1 }, view),
            (Request::Audit { page: 1, filter: AuditFilter::default(), update: false }, view),
            (
                Request::Audit {
                    page: 2,
                    filter: AuditFilter { instance: Some(1), actor: Some(2) },
                    update: true,
                },
                view,
            ),
            (Request::Keep { instance: 1 }, view),
            (
                Request::Ask { act: Act::Stop, instance: 1, origin: None, shown: None, reason: None },
                act(Act::Stop),
            ),
            (
                Request::Ask {
                    act: Act::Cancel,
                    instance: 1,
                    origin: Some(5),
                    shown: None,
                    reason: Some("x".into()),
                },
                act(Act::Cancel),
            ),
            (Request::Confirm { act: Act::Stop, instance: 1, origin: None, reason: None }, act(Act::Stop)),
            (
                Request::Confirm { act: Act::Cancel, instance: 1, origin: Some(5), reason: Some("x".into()) },
                act(Act::Cancel),
            ),
            (Request::OpenReason { act: Act::Stop, instance: 1, origin: None, reason: None }, act(Act::Stop)),
            (
                Request::OpenReason {
                    act: Act::Cancel,
                    instance: 1,
                    origin: Some(5),
                    reason: Some("x".into()),
                },
                act(Act::Cancel),
            ),
            (Request::Choices { wanted: Wanted::Act(Act::Stop), typed: String::new() }, act(Act::Stop)),
            (Request::Choices { wanted: Wanted::Act(Act::Cancel), typed: "1".into() }, act(Act::Cancel)),
            (Request::Choices { wanted: Wanted::Report, typed: String::new() }, view),
            (
                Request::Scan { url: "https://x.y/".into(), memo: String::new(), speed: ScanSpeed::Fast },
                act(Act::Scan),
            ),
            (Request::Rescan { instance: 1 }, act(Act::Scan)),
            (Request::ConfirmScan { id: "abcdefghijkl".into() }, act(Act::Scan)),
            (Request::StopAll { url: String::new() }, act(Act::Stop)),
            (Request::ConfirmStopAll { id: "abcdefghijkl".into() }, act(Act::Stop)),
            (Request::Invalid(Invalid::Speed("warp".into())), None),
            (Request::NoChoices, None),
            (Request::Invalid(Invalid::Filter(FilterError::UrlAndMemo)), None),
            (Request::Invalid(Invalid::Instance("x".into(), InstanceIdError::NotDigits)), None),
            (Request::Invalid(Invalid::Button("wsc:v9:x".into(), CustomIdError::Version)), None),
            (Request::Invalid(Invalid::UnknownCommand), None),
            (Request::Invalid(Invalid::Modal("wsc:v1:confirm-stop:1".into())), None),
            (Request::Invalid(Invalid::Reason(ReasonError::TooLong(201))), None),
            (Request::Invalid(Invalid::Reason(ReasonError::Fields)), None),
            (Request::Invalid(Invalid::Reason(ReasonError::Blank)), None),
        ];
        for (request, needed) in table {
            assert_eq!(permission(&request), needed, "{request:?}");
        }
    }

    #[test]
    fn a_viewer_may_do_what_needs_view_and_nothing_that_acts() {
        let roles = Roles { viewers: vec![VIEWER], operators: vec![OPERATOR] };
        let stop = Request::Confirm { act: Act::Stop, instance: 1, origin: None, reason: None };
        let keep = Request::Keep { instance: 1 };
        let decide = |roles_held: &[u64], request: &Request| {
            permission(request).map(|needed| roles.decide(roles_held, needed))
        };
        assert_eq!(decide(&[VIEWER], &keep), Some(Decision::Allowed { matched_role: Some(VIEWER) }));
        assert_eq!(decide(&[VIEWER], &stop), Some(Decision::Denied { needed: vec![OPERATOR] }));
        assert_eq!(decide(&[OTHER], &keep), Some(Decision::Denied { needed: vec![VIEWER, OPERATOR] }));
        assert_eq!(decide(&[OPERATOR], &stop), Some(Decision::Allowed { matched_role: Some(OPERATOR) }));
    }
}
