"""Staff sign-in: email and password, then a second factor (TOTP, set up on first sign-in; or a
passkey once added, see passkey_views.py)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import segno
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login

from confide.staff.decorators import public
from confide.staff.forms import CodeForm, SignInForm
from confide.staff.models import AuthenticatorApp, StaffMember
from confide.staff.otp import is_verified
from confide.staff.passkey_views import passkey_sign_in_context
from confide.staff.services import staff_contact_details

NEXT = "confide_next"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return str(settings.LOGIN_REDIRECT_URL)


@public
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if user is not None:
            login(request, user)
            request.session[NEXT] = _safe_next(request, request.GET.get("next"))
            return redirect("staff:two_factor")
        # One message whatever was wrong, so the page does not reveal who has an account.
        form.add_error(None, "Enter a correct email address and password")
        form.errors["username"] = form.error_class(["Enter a correct email address and password"])
        del form.errors["__all__"]
    return render(
        request,
        "staff/sign_in.html",
        {"form": form, "timed_out": request.GET.get("timed_out") == "1"},
    )


def _confirmed_device(user: StaffMember) -> AuthenticatorApp | None:
    for device in devices_for_user(user, confirmed=True):
        if isinstance(device, AuthenticatorApp):
            return device
    return None


@public
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, StaffMember):
        return redirect("staff:sign_in")
    if is_verified(user):
        return redirect(request.session.get(NEXT, settings.LOGIN_REDIRECT_URL))
    device = _confirmed_device(user)
    if device is None:
        return redirect("staff:set_up_two_factor")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["code"]):
            otp_login(request, device)
            return redirect(request.session.pop(NEXT, settings.LOGIN_REDIRECT_URL))
        form.add_error(
            "code",
            "The security code is not right or has expired; enter the code shown now"
            if allowed
            else "Too many wrong codes: wait a few seconds, then enter the code shown now",
        )
    return render(
        request, "staff/two_factor.html", {"form": form, **passkey_sign_in_context(request, user)}
    )


@public
@require_http_methods(["GET", "POST"])
def set_up_two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, StaffMember):
        return redirect("staff:sign_in")
    if _confirmed_device(user) is not None:
        return redirect("staff:two_factor")
    device = AuthenticatorApp.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = AuthenticatorApp.new_for(user, name="Authenticator app", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(request.session.pop(NEXT, settings.LOGIN_REDIRECT_URL))
        form.add_error("code", "The security code is not right; enter the code shown now")
    account = staff_contact_details(user)["email"] or "staff"
    # django-otp labels the device "Confide:<username>" URL-quoted; the app should show the
    # person's own address, not the blind index that is our username.
    uri = device.config_url.replace(quote(f":{user.get_username()}"), quote(f":{account}"), 1)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your app")
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "staff/set_up_two_factor.html",
        {
            "form": form,
            "qr_data_uri": "data:image/svg+xml;base64,"
            + base64.b64encode(qr_svg.encode()).decode(),
            "key_groups": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
        },
    )


@public
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/sign-in/?signed_out=1")
