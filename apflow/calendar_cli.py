"""`apflow calendar`: a person's calendar feed (`console.calendar_feed`),
made, shown and revoked by an operator, as on the console's "Your calendar"
page. The feed's URL is printed once, when made, on the last line; only
its token's hash is kept. Every change is audited with the actor "cli"."""
from __future__ import annotations

from store import calendar_feeds

from .users_cli import Refused, Register, _command, run


def calendar_make(reg: Register, args) -> None:
    row = reg.user(args.email)
    if not row.active:
        raise Refused(f"{row.email} is disabled: a feed would show nothing", code=1)
    from console.calendar_feed import feed_url  # the API's modules, loaded only for this command

    made = calendar_feeds.create(reg.engine, row.user_id, reg.now())
    reg.audit("calendar_feed_made", row.user_id, made.feed_id)
    print(f"calendar feed {made.feed_id} for {row.email} (any earlier one is revoked);")
    print("subscribe to it from a calendar. It is shown once, here, and kept only as a hash:")
    print(feed_url(reg.settings, made.token))


def calendar_status(reg: Register, args) -> None:
    row = reg.user(args.email)
    live = calendar_feeds.live(reg.engine, row.user_id)
    if live is None:
        print(f"{row.email} has no calendar feed")
        return
    used = f"last read {live.last_used_at:%Y-%m-%d %H:%M} UTC" if live.last_used_at else "never read"
    print(f"{live.feed_id}\tmade {live.created_at:%Y-%m-%d %H:%M} UTC\t{used}")


def calendar_revoke(reg: Register, args) -> None:
    row = reg.user(args.email)
    live = calendar_feeds.live(reg.engine, row.user_id)
    if live is None or not calendar_feeds.revoke(reg.engine, row.user_id, reg.now()):
        raise Refused(f"{row.email} has no calendar feed to revoke", code=1)
    reg.audit("calendar_feed_revoked", row.user_id, live.feed_id)
    print(f"revoked {live.feed_id}: its URL shows nothing from now on")


def add_parsers(commands) -> None:
    """Adds `calendar` to the `apflow` command's subcommands."""
    calendar = _command(commands, "calendar", "a person's calendar feed of their deadlines").add_subparsers(
        dest="action", required=True)
    for name, text, how in (("make", "make a feed for an account (revoking its old one); its URL is printed once, "
                                     "on the last line", calendar_make),
                            ("status", "whether an account has a live feed, and when it was last read", calendar_status),
                            ("revoke", "revoke an account's feed", calendar_revoke)):
        sub = _command(calendar, name, text)
        sub.add_argument("email")
        sub.set_defaults(run=how)


__all__ = ["add_parsers", "run"]
