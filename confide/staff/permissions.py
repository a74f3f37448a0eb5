"""Who may do what, declared in one place (django-rules).

Every view names one of these permissions (see confide/staff/decorators.py); the
authorisation-matrix test walks the URL configuration and fails for a view that names none.
Nothing that shows personal data is allowed without in-date data-protection training.
"""

from __future__ import annotations

from typing import Any

import rules
from django.utils import timezone

from confide.staff.models import Role, StaffMember


def _member(user: Any) -> StaffMember | None:
    return user if isinstance(user, StaffMember) and user.is_active else None


@rules.predicate
def has_in_date_training(user: Any) -> bool:
    member = _member(user)
    if member is None:
        return False
    from confide.staff.selectors import trained_today

    return trained_today(member)


def _role(*roles: str) -> rules.Predicate:
    @rules.predicate(name=f"has_role_{'_or_'.join(roles)}")
    def has_role(user: Any) -> bool:
        member = _member(user)
        return member is not None and member.role in roles

    return has_role


is_call_handler = _role(Role.CALL_HANDLER)
is_clinician = _role(Role.CLINICIAN)
is_health_protection = _role(Role.HEALTH_PROTECTION)
is_tracer = _role(Role.CALL_HANDLER, Role.CLINICIAN, Role.HEALTH_PROTECTION)
is_clinical = _role(Role.CLINICIAN, Role.HEALTH_PROTECTION)
is_supervisor = _role(Role.SUPERVISOR)
is_dpo = _role(Role.DATA_PROTECTION_OFFICER)
is_administrator = _role(Role.ADMINISTRATOR)
is_support_officer = _role(Role.SUPPORT_OFFICER)


@rules.predicate
def holds_case(user: Any, case: Any) -> bool:
    """Assigned to this tracer now (and only while assigned)."""
    member = _member(user)
    return member is not None and case is not None and case.assigned_to_id == member.pk


@rules.predicate
def case_in_own_tier(user: Any, case: Any) -> bool:
    member = _member(user)
    return member is not None and case is not None and case.tier == member.tier


@rules.predicate
def holds_work_item(user: Any, item: Any) -> bool:
    """Claimed by this member, in their own tier, and the claim has not timed out."""
    member = _member(user)
    if member is None or item is None or item.state != "claimed":
        return False
    if item.claimed_by_id != member.pk or item.tier != member.tier:
        return False
    from confide.workqueue.services import claim_timeout

    return bool(item.claimed_at and item.claimed_at >= timezone.now() - claim_timeout())


trained = has_in_date_training

# "Your work" is every signed-in member's landing page; it shows no personal data itself.
rules.add_perm("workqueue.view_own_work", rules.is_authenticated)
rules.add_perm("workqueue.claim", trained & is_tracer)
rules.add_perm("tracing.follow_up", trained & is_call_handler)
rules.add_perm("workqueue.work_item", trained & holds_work_item)
rules.add_perm("cases.view_case", trained & (holds_case | (is_clinical & case_in_own_tier)))
rules.add_perm("cases.work_case", trained & holds_case)
rules.add_perm("workqueue.view_dashboard", is_supervisor)
rules.add_perm("workqueue.reassign", trained & is_supervisor)
rules.add_perm("people.search_population", trained & is_supervisor)
# The line list holds case references and dates, no identities: trained supervisors.
rules.add_perm("workqueue.export_line_list", trained & is_supervisor)
# Likely matches show both people's details side by side: trained supervisors decide them.
rules.add_perm("matching.review_matches", trained & is_supervisor)
rules.add_perm("messaging.manage_templates", trained & is_supervisor)
rules.add_perm("messaging.broadcast", trained & is_supervisor)
rules.add_perm("staff.record_training", is_supervisor | is_administrator)
rules.add_perm("staff.view_own_account", rules.is_authenticated)
rules.add_perm("dpo.view_office", trained & is_dpo)
# Anyone who may receive a request from outside records it (it is refused by default); only
# the DPO approves, and the second approver is another DPO or an administrator.
rules.add_perm(
    "dpo.record_disclosure_request", trained & (is_dpo | is_supervisor | is_administrator)
)
rules.add_perm("dpo.second_approve_disclosure", trained & (is_dpo | is_administrator))
rules.add_perm("demo.view_sent_mail", trained & (is_supervisor | is_administrator))
# Import runs hold counts and (row, field, reason) errors only, never a submitted value.
rules.add_perm("ingest.view_import_runs", is_supervisor)
# Isolation support (confide/support): the local authority's officers review applications
# (eligibility, masked bank details, evidence), record payments and handle help requests.
rules.add_perm("support.review_applications", trained & is_support_officer)
rules.add_perm("support.handle_help_requests", trained & is_support_officer)
