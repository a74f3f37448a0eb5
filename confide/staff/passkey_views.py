"""Passkey pages: a member's security page (add and remove passkeys) and signing in with a
passkey instead of the authenticator app's code. The browser side is
static/staff/passkeys.js; without JavaScript these pages still offer the code."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe
from django_otp import login as otp_login

from confide.staff.decorators import public, requires
from confide.staff.forms import CodeForm
from confide.staff.models import Passkey, StaffMember
from confide.staff.otp import is_verified
from confide.staff.passkeys import (
    PasskeyRejected,
    register_passkey,
    registration_options,
    relying_party,
    remove_passkey,
    sign_in_options,
    verify_passkey,
)
from confide.staff.services import password_confirmed

NEXT = "confide_next"  # as in views.py: where the sign-in goes on to


class AddPasskeyForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        help_text="We ask again before changing how you sign in",
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password"},
    )
    name = forms.CharField(
        label="Name this passkey (optional)",
        help_text="So you can tell your passkeys apart, for example ‘Work laptop’",
        max_length=64,
        required=False,
    )
    credential = forms.CharField(
        widget=forms.HiddenInput,
        error_messages={"required": "Your browser did not make a passkey. Try again."},
    )


def _member(request: HttpRequest) -> StaffMember:
    user = request.user
    assert isinstance(user, StaffMember)
    return user


def _security_page(request: HttpRequest, form: AddPasskeyForm | None = None) -> HttpResponse:
    member = _member(request)
    form = form or AddPasskeyForm()
    return render(
        request,
        "staff/security.html",
        {
            "nav": "",
            "form": form,
            "passkeys": Passkey.objects.filter(user=member).order_by("created_at", "pk"),
            "registration_options": registration_options(
                session=request.session, rp=relying_party(request), member=member
            ),
        },
    )


@requires("staff.view_own_account")
@require_safe
def security(request: HttpRequest) -> HttpResponse:
    return _security_page(request)


@requires("staff.view_own_account")
@require_POST
def add_passkey(request: HttpRequest) -> HttpResponse:
    form = AddPasskeyForm(request.POST)
    if form.is_valid() and not password_confirmed(
        request, _member(request), form.cleaned_data["password"]
    ):
        form.add_error("password", "Your password is not right")
    if form.is_valid():
        try:
            register_passkey(
                session=request.session,
                rp=relying_party(request),
                member=_member(request),
                credential_json=form.cleaned_data["credential"],
                name=form.cleaned_data["name"],
            )
        except PasskeyRejected as exc:
            form.add_error("credential", str(exc))
        else:
            messages.success(request, "Passkey added. You can use it to sign in.")
            return redirect("staff:security")
    return _security_page(request, form)


@requires("staff.view_own_account")
@require_POST
def remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    if not remove_passkey(member=_member(request), passkey_id=passkey_id):
        raise Http404
    messages.success(request, "Passkey removed")
    return redirect("staff:security")


def passkey_sign_in_context(request: HttpRequest, member: StaffMember) -> dict[str, Any]:
    """What the security-code page needs to offer the member's passkeys (none: nothing)."""
    return {
        "passkey_options": sign_in_options(
            session=request.session, rp=relying_party(request), member=member
        )
    }


@public
@require_POST
def passkey_sign_in(request: HttpRequest) -> HttpResponse:
    """The second factor by passkey: the password was given on the sign-in page."""
    user = request.user
    if not isinstance(user, StaffMember):
        return redirect("staff:sign_in")
    if is_verified(user):
        return redirect(request.session.pop(NEXT, settings.LOGIN_REDIRECT_URL))
    try:
        passkey = verify_passkey(
            session=request.session,
            rp=relying_party(request),
            member=user,
            credential_json=request.POST.get("credential", ""),
        )
    except PasskeyRejected as exc:
        return render(
            request,
            "staff/two_factor.html",
            {
                "form": CodeForm(),
                "passkey_error": str(exc),
                **passkey_sign_in_context(request, user),
            },
        )
    otp_login(request, passkey)
    return redirect(request.session.pop(NEXT, settings.LOGIN_REDIRECT_URL))
