"""Logging in and out, the admin user page, personal API tokens and `crisiswiki create-user`."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import func, select

from tests.fixtures import PASSWORD
from wiki.extensions import db
from wiki.models import ApiToken, Page, User


def logged_in_user_id(client) -> str | None:
    with client.session_transaction() as session:
        value = session.get("_user_id")
        return value.partition(":")[0] if value else None  # "<id>:<password fingerprint>"


def post_login(client, username: str, password: str, query: str = ""):
    return client.post(f"/login{query}", data={"username": username, "password": password})


def get_user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def put_page(client, token: str | None, slug: str = "From_a_script", body: str = "x"):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.put(f"/api/v1/pages/quake/{slug}", json={"body": body}, headers=headers)


# --- passwords and logging in -------------------------------------------------------------


def test_passwords_are_stored_as_salted_hashes_not_as_given(app, make_user):
    first, second = make_user("volunteer"), make_user("volunteer")
    stored = [get_user(app, person.id).password_hash for person in (first, second)]
    assert PASSWORD not in stored[0]
    assert stored[0].startswith("pbkdf2:sha256:")
    assert stored[0] != stored[1], "the same password must hash differently for two users (salt)"


def test_login_with_the_right_password_starts_a_session_and_redirects_home(client, make_user):
    person = make_user("volunteer")
    response = post_login(client, person.username, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert logged_in_user_id(client) == str(person.id)
    assert client.get("/account/tokens").status_code == 200


def test_wrong_password_is_401_with_a_message_and_does_not_log_in(client, make_user):
    person = make_user("coordinator")
    response = post_login(client, person.username, "not the password")
    assert response.status_code == 401
    assert b"Unknown username or wrong password." in response.data
    assert logged_in_user_id(client) is None
    assert client.get("/account/tokens").status_code == 401


def test_unknown_username_gets_the_same_answer_as_a_wrong_password(client, make_user):
    make_user("volunteer", username="known")
    unknown = post_login(client, "nobody-here", PASSWORD)
    wrong = post_login(client, "known", "wrong password")
    assert unknown.status_code == wrong.status_code == 401
    assert b"Unknown username or wrong password." in unknown.data
    assert logged_in_user_id(client) is None


def test_the_password_is_checked_exactly(client, make_user):
    person = make_user("volunteer")
    for attempt in (PASSWORD.upper(), PASSWORD + " ", PASSWORD[:-1], ""):
        assert post_login(client, person.username, attempt).status_code == 401
    assert logged_in_user_id(client) is None


def test_disabled_user_cannot_log_in(app, client, make_user):
    person = make_user("coordinator")
    with app.app_context():
        db.session.get(User, person.id).active = False
        db.session.commit()
    response = post_login(client, person.username, PASSWORD)
    assert response.status_code == 401
    assert logged_in_user_id(client) is None


def test_disabling_a_user_ends_their_running_session(app, client, crisis, make_user, login):
    person = make_user("coordinator")
    login(person)
    assert client.post("/c/quake/new", data={"title": "Before", "body": "x"}).status_code == 302
    with app.app_context():
        db.session.get(User, person.id).active = False
        db.session.commit()
    assert client.post("/c/quake/new", data={"title": "After", "body": "x"}).status_code == 401


def test_logout_ends_the_session(client, crisis, make_user, login):
    login(make_user("coordinator"))
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert logged_in_user_id(client) is None
    assert client.post("/c/quake/new", data={"title": "After logout", "body": "x"}).status_code == 401


def test_logout_is_not_a_get_request(client, make_user, login):
    person = make_user("volunteer")
    login(person)
    assert client.get("/logout").status_code == 405
    assert logged_in_user_id(client) == str(person.id)


def test_login_redirects_to_a_local_next_page(client, make_user):
    person = make_user("volunteer")
    response = post_login(client, person.username, PASSWORD, "?next=/c/quake/wiki/Main_Page%3Fx%3D1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/c/quake/wiki/Main_Page?x=1"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path",
        "https://evil.example",
        "https://evil.example/c/quake/",
        "http:evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/%0A/evil.example".replace("%0A", "\n"),
        " //evil.example",
        "evil.example",
    ],
)
def test_login_refuses_to_redirect_off_site(client, make_user, target):
    person = make_user("volunteer")
    response = client.post(
        "/login", query_string={"next": target}, data={"username": person.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert logged_in_user_id(client) == str(person.id)


# --- the admin user page ------------------------------------------------------------------


def test_admin_page_lists_users_with_their_roles(client, make_user, login):
    login(make_user("admin"))
    make_user("verifier", username="vera")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert b"vera" in page.data and b"verifier" in page.data


def test_admin_creates_a_user_who_can_then_log_in(app, client, make_user, login):
    login(make_user("admin"))
    response = client.post(
        "/admin/users",
        data={"username": "new.person", "password": "long enough pw", "role": "verifier", "display_name": "New Person"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "new.person"))
        assert (user.role, user.display_name, user.active) == ("verifier", "New Person", True)
        assert user.password_hash != "long enough pw"
    other = app.test_client()
    assert post_login(other, "new.person", "long enough pw").status_code == 302


@pytest.mark.parametrize(
    "form, field",
    [
        ({"username": "shortpw", "password": "1234567", "role": "volunteer"}, b"at least 8 characters"),
        ({"username": "bad name!", "password": "long enough pw", "role": "volunteer"}, b"A username is"),
        ({"username": "x", "password": "long enough pw", "role": "volunteer"}, b"A username is"),
        ({"username": "", "password": "long enough pw", "role": "volunteer"}, b"A username is"),
        ({"username": "rolename", "password": "long enough pw", "role": "superuser"}, b"Unknown role"),
    ],
)
def test_admin_user_form_rejects_bad_input_with_422_and_creates_nobody(app, client, make_user, login, form, field):
    login(make_user("admin"))
    before = user_count(app)
    response = client.post("/admin/users", data=form)
    assert response.status_code == 422
    assert field in response.data
    assert user_count(app) == before


def test_admin_user_form_refuses_a_taken_username_with_409(app, client, make_user, login):
    login(make_user("admin"))
    make_user("volunteer", username="taken")
    before = user_count(app)
    for spelling in ("taken", "TAKEN"):
        response = client.post(
            "/admin/users", data={"username": spelling, "password": "long enough pw", "role": "admin"}
        )
        assert response.status_code == 409
        assert b"is taken" in response.data
    assert user_count(app) == before
    with app.app_context():
        assert db.session.scalar(select(User.role).where(User.username == "taken")) == "volunteer"


def test_admin_changes_a_users_role(app, client, make_user, login):
    login(make_user("admin"))
    person = make_user("volunteer")
    response = client.post(f"/admin/users/{person.id}", data={"role": "coordinator"})
    assert response.status_code == 302
    assert get_user(app, person.id).role == "coordinator"


def test_a_role_change_takes_effect_on_the_users_next_request(app, client, crisis, make_user, login):
    admin = app.test_client()
    login(make_user("admin"), admin)
    person = make_user("volunteer")
    login(person)
    assert client.post("/c/quake/new", data={"title": "Promoted", "body": "x"}).status_code == 403
    assert admin.post(f"/admin/users/{person.id}", data={"role": "coordinator"}).status_code == 302
    assert client.post("/c/quake/new", data={"title": "Promoted", "body": "x"}).status_code == 302


def test_admin_disables_and_reenables_a_user(app, client, make_user, login):
    login(make_user("admin"))
    person = make_user("coordinator")
    assert client.post(f"/admin/users/{person.id}", data={"active": "0"}).status_code == 302
    assert get_user(app, person.id).active is False
    assert post_login(app.test_client(), person.username, PASSWORD).status_code == 401
    assert client.post(f"/admin/users/{person.id}", data={"active": "1"}).status_code == 302
    assert post_login(app.test_client(), person.username, PASSWORD).status_code == 302


def test_admin_sets_a_new_password(app, client, make_user, login):
    login(make_user("admin"))
    person = make_user("volunteer")
    assert client.post(f"/admin/users/{person.id}", data={"password": "a brand new one"}).status_code == 302
    assert post_login(app.test_client(), person.username, PASSWORD).status_code == 401
    assert post_login(app.test_client(), person.username, "a brand new one").status_code == 302


@pytest.mark.parametrize("form", [{"role": "superuser"}, {"password": "short"}, {"role": "admin", "password": "short"}])
def test_admin_update_with_bad_input_is_422_and_changes_nothing(app, client, make_user, login, form):
    login(make_user("admin"))
    person = make_user("volunteer")
    before = get_user(app, person.id).password_hash
    response = client.post(f"/admin/users/{person.id}", data=form)
    assert response.status_code == 422
    after = get_user(app, person.id)
    assert (after.role, after.password_hash) == ("volunteer", before)


def test_updating_an_unknown_user_is_404(client, make_user, login):
    login(make_user("admin"))
    assert client.post("/admin/users/999999", data={"role": "admin"}).status_code == 404


@pytest.mark.parametrize("form", [{"role": "coordinator"}, {"active": "0"}])
def test_the_last_active_admin_cannot_be_demoted_or_disabled(app, client, make_user, login, form):
    admin = make_user("admin")
    login(admin)
    response = client.post(f"/admin/users/{admin.id}", data=form)
    assert response.status_code == 409
    assert get_user(app, admin.id).role == "admin" and get_user(app, admin.id).active
    # With a second administrator it is allowed.
    make_user("admin")
    assert client.post(f"/admin/users/{admin.id}", data=form).status_code == 302


@pytest.mark.parametrize("role", ["volunteer", "verifier", "coordinator"])
def test_non_admins_get_403_on_the_user_page(app, client, make_user, login, role):
    login(make_user(role))
    target = make_user("volunteer")
    before = user_count(app)
    assert client.get("/admin/users").status_code == 403
    assert (
        client.post(
            "/admin/users", data={"username": "sneaky", "password": "long enough pw", "role": "admin"}
        ).status_code
        == 403
    )
    assert client.post(f"/admin/users/{target.id}", data={"role": "admin"}).status_code == 403
    assert user_count(app) == before
    assert get_user(app, target.id).role == "volunteer"


def test_anonymous_visitors_get_401_on_the_user_page(client, make_user):
    target = make_user("volunteer")
    assert client.get("/admin/users").status_code == 401
    assert client.post("/admin/users", data={"username": "sneaky", "password": "long enough pw"}).status_code == 401
    assert client.post(f"/admin/users/{target.id}", data={"role": "admin"}).status_code == 401


# --- personal API tokens ------------------------------------------------------------------


def create_token_through_the_page(client, name: str = "my script") -> str:
    response = client.post("/account/tokens", data={"name": name})
    assert response.status_code == 200
    found = re.findall(r'<code class="token">([^<]+)</code>', response.get_data(as_text=True))
    assert len(found) == 1
    return found[0]


def test_a_new_token_is_shown_once_and_only_its_sha256_is_stored(app, client, make_user, login):
    person = make_user("coordinator")
    login(person)
    plain = create_token_through_the_page(client)
    assert plain.startswith("cw_") and len(plain) > 30
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.user_id == person.id and token.name == "my script"
        assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert plain not in (token.token_hash, token.name)
    again = client.get("/account/tokens")
    assert again.status_code == 200
    assert plain.encode() not in again.data and b"my script" in again.data


def test_the_page_showing_a_new_token_is_not_cached(client, make_user, login):
    login(make_user("volunteer"))
    response = client.post("/account/tokens", data={"name": "x"})
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_a_bearer_token_authenticates_api_writes(app, client, crisis, make_user, login):
    person = make_user("coordinator")
    login(person)
    plain = create_token_through_the_page(client)
    script = app.test_client()  # no cookies: the token alone
    response = put_page(script, plain, body="from a script")
    assert response.status_code == 201, response.json
    assert response.json["body"] == "from a script\n"
    with app.app_context():
        page = db.session.scalar(select(Page).where(Page.slug == "From_a_script"))
        assert page.current_revision.author_id == person.id
        assert db.session.scalar(select(ApiToken.last_used_at)) is not None


def test_a_token_acts_with_its_owners_role(app, crisis, make_user, token_for):
    volunteer_token = token_for(make_user("volunteer"))
    response = put_page(app.test_client(), volunteer_token)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_a_revoked_token_gets_401(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    plain = create_token_through_the_page(client)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked is True
    response = put_page(app.test_client(), plain)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["Bearer cw_not-a-real-token", "Bearer ", "Bearer", "bearer garbage"])
def test_a_garbage_token_gets_401(app, crisis, make_user, header):
    make_user("coordinator")
    response = app.test_client().put("/api/v1/pages/quake/X", json={"body": "x"}, headers={"Authorization": header})
    assert response.status_code == 401


def test_the_token_of_a_disabled_user_gets_401(app, crisis, make_user, token_for):
    person = make_user("coordinator")
    plain = token_for(person)
    assert put_page(app.test_client(), plain, slug="Before").status_code == 201
    with app.app_context():
        db.session.get(User, person.id).active = False
        db.session.commit()
    assert put_page(app.test_client(), plain, slug="After").status_code == 401


def test_a_wrong_bearer_token_is_not_rescued_by_a_session_cookie(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    assert put_page(client, None, slug="With_the_session").status_code == 201
    assert put_page(client, "cw_wrong", slug="With_a_bad_token").status_code == 401


def test_a_bearer_token_decides_who_acts_even_next_to_another_users_session(
    app, client, crisis, make_user, login, token_for
):
    login(make_user("coordinator"))
    volunteer_token = token_for(make_user("volunteer"))
    assert put_page(client, volunteer_token).status_code == 403


def test_users_cannot_revoke_someone_elses_token(app, client, make_user, login, token_for):
    owner = make_user("coordinator")
    token_for(owner)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    login(make_user("admin"))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked is False


def test_token_pages_need_a_login(client, make_user, token_for):
    assert client.get("/account/tokens").status_code == 401
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 401
    assert client.post("/account/tokens/1/revoke").status_code == 401


# --- the command line ---------------------------------------------------------------------


def test_create_user_command_creates_a_user_who_can_log_in(app, client, runner):
    result = runner.invoke(args=["create-user", "cli.person", "--role", "coordinator", "--password", "long enough pw"])
    assert result.exit_code == 0, result.output
    assert "Created cli.person (coordinator)" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "cli.person"))
        assert user.role == "coordinator" and user.password_hash != "long enough pw"
    assert post_login(client, "cli.person", "long enough pw").status_code == 302


def test_create_user_command_defaults_to_volunteer_and_can_issue_a_token(app, crisis, runner):
    result = runner.invoke(args=["create-user", "scripted", "--password", "long enough pw", "--token"])
    assert result.exit_code == 0, result.output
    plain = re.search(r"API token \(shown once\): (\S+)", result.output).group(1)
    with app.app_context():
        assert db.session.scalar(select(User.role).where(User.username == "scripted")) == "volunteer"
    assert put_page(app.test_client(), plain).status_code == 403  # authenticated, but a volunteer


def test_create_user_command_takes_an_email_address_and_checks_it(app, runner):
    result = runner.invoke(
        args=["create-user", "mailed", "--password", "long enough pw", "--email", "mailed@example.org"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(User.email).where(User.username == "mailed")) == "mailed@example.org"
    refused = runner.invoke(args=["create-user", "unmailed", "--password", "long enough pw", "--email", "nope"])
    assert refused.exit_code == 1 and "is not an e-mail address" in refused.output
    assert user_count(app) == 1


def test_create_user_command_prompts_for_the_password_when_not_given(app, client, runner):
    result = runner.invoke(args=["create-user", "prompted"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    assert "long enough pw" not in result.output
    assert post_login(client, "prompted", "long enough pw").status_code == 302


@pytest.mark.parametrize(
    "args",
    [
        ["create-user", "shortpw", "--password", "short"],
        ["create-user", "bad name", "--password", "long enough pw"],
        ["create-user", "newline\n", "--password", "long enough pw"],
        ["create-user", "rolename", "--role", "superuser", "--password", "long enough pw"],
        ["create-user", "taken", "--password", "long enough pw"],
        ["create-user", "--password", "long enough pw"],
    ],
)
def test_create_user_command_with_bad_input_exits_non_zero_and_creates_nobody(app, runner, make_user, args):
    make_user("volunteer", username="taken")
    before = user_count(app)
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert user_count(app) == before


def test_a_password_change_ends_existing_sessions(app, client, make_user, login):
    person = make_user("coordinator")
    login(person)
    assert client.get("/account/tokens").status_code == 200
    with app.app_context():
        from wiki.models import User

        user = db.session.get(User, person.id)
        user.set_password("a brand new password")
        db.session.commit()
    assert client.get("/account/tokens").status_code == 401
