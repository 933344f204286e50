"""Pictures where people would rather look than read: drawn on the server
as SVG (pygal), so a page shows them with no JavaScript, and each carries
its figures as a table beside it for screen readers and for anyone who
would rather read the numbers.

A picture is built from figures the page already has: it never reads
anything itself, so what it shows is exactly what the viewer may see.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pygal
from markupsafe import Markup
from pygal.style import Style

from domain.models import PlacementState

from .pages import wording

# The GOV.UK Design System's colours, as its tags have them (`wording.TAG_COLOURS`);
# GREY is its dark grey (a plan, behind what happened), LIGHT_GREY the tag's.
BLUE, GREEN, RED, ORANGE, PURPLE, TURQUOISE, YELLOW, LIGHT_GREY = (
    wording.TAG_COLOURS[c] for c in ("blue", "green", "red", "orange", "purple", "turquoise", "yellow", "grey"))
GREY = "#505a5f"
# Each state's as its tag shows it.
STATE_COLOURS = {s: wording.TAG_COLOURS[wording.state_tag(s.value)] for s in PlacementState}


def _style(colours: Sequence[str]) -> Style:
    return Style(
        background="white", plot_background="white", foreground="#0b0c0c", foreground_strong="#0b0c0c",
        foreground_subtle=LIGHT_GREY, colors=tuple(colours), opacity="1", opacity_hover="1", transition="none",
        font_family="arial, sans-serif", label_font_size=16, major_label_font_size=16, legend_font_size=16,
        value_font_size=16, tooltip_font_size=16, title_font_size=16,
    )


def _whole(most: int) -> list[int]:
    """Whole-number marks up the scale of counts, about five of them."""
    step = max(1, -(-most // 5))
    return list(range(0, most + step, step))


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Picture:
    """One picture: its heading, the sentence a screen reader says for the
    image, the SVG, and the same figures as a table."""

    id: str  # the element's id on its page
    title: str
    summary: str
    svg: Markup
    key: tuple[tuple[str, str], ...]  # (series, colour), as the image draws them
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


def _without_scripts(root):
    """pygal writes its settings into an inline script for its tooltips:
    a page's policy refuses inline scripts, and the picture needs none."""
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _draw(chart) -> Markup:
    # pygal's own markup: its labels and values are escaped by its XML writer.
    chart.add_xml_filter(_without_scripts)
    return Markup(chart.render(is_unicode=True))


WIDTH = 640  # drawn at about the width of the page's main column, so its text reads at the page's size


def _chart(kind, colours: Sequence[str], height: int, **config):
    # The key is the page's own text under the image (`Picture.key`), so it wraps like the page does.
    return kind(style=_style(colours), js=[], disable_xml_declaration=True, explicit_size=False, width=WIDTH,
                height=height, show_legend=False, print_values=False, margin=10, truncate_label=-1, **config)


CACHED = 128  # pictures kept a process: a year of weeks' SVG is about 70 KB


def drawn_once(draw):
    """A picture is drawn again only when its figures change: pygal takes
    about 20 ms for a year of weeks, against a few for the rest of a page.
    The figures are the key, so a picture is only ever shown for the very
    figures it was drawn from, to whoever may see them."""
    cached = functools.lru_cache(maxsize=CACHED)(draw)

    @functools.wraps(draw)
    def picture(figures: Sequence, *args, **kwargs) -> Picture | None:
        return cached(tuple(figures), *args, **kwargs)

    picture.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return picture


@drawn_once
def placements_by_state(counts: Sequence[tuple[str, str, int]], names: tuple[tuple[str, str], ...] = ()) -> Picture | None:
    """Placements in each state at each school, a bar a school, from
    (school_id, state, n) counts; each school by its name in `names`
    ((school_id, name) pairs), else by its id."""
    if not counts:
        return None
    named = dict(names)
    schools = sorted({school for school, _, _ in counts})
    states = [s for s in PlacementState if any(state == s for _, state, _ in counts)]
    n = {(school, state): count for school, state, count in counts}
    most = max(sum(n.get((school, s.value), 0) for s in states) for school in schools)
    chart = _chart(pygal.HorizontalStackedBar, [STATE_COLOURS[s] for s in states], height=110 + 40 * len(schools),
                   show_y_guides=False, x_title="Placements", y_labels=_whole(most))
    top_down = schools[::-1]  # a horizontal chart draws its first row at the bottom
    chart.x_labels = [named.get(s, f"School {s}") for s in top_down]
    for s in states:
        chart.add(wording.words(s.value), [n.get((school, s.value)) or None for school in top_down])
    total = sum(count for _, _, count in counts)
    return Picture(
        "placements-by-state", "Placements by state, school by school",
        f"{_count(len(schools), 'school')}, each a bar split by state: {_count(total, 'placement')} in all.",
        _draw(chart), tuple((wording.words(s.value), STATE_COLOURS[s]) for s in states),
        ("School", *(wording.words(s.value) for s in states), "All"),
        tuple((named.get(school, school), *(n.get((school, s.value), 0) for s in states),
               sum(n.get((school, s.value), 0) for s in states)) for school in schools),
    )


@dataclass(frozen=True)
class Span:
    """One placement's time so far and its plan, in weeks."""

    label: str  # how the page names the placement
    start: date
    planned_end: date | None
    until: date  # today, or the day it ended

    @property
    def weeks_so_far(self) -> float:
        return round(max((self.until - self.start).days, 0) / 7, 1)

    @property
    def weeks_planned(self) -> float | None:
        return round((self.planned_end - self.start).days / 7, 1) if self.planned_end else None

    @property
    def drifting(self) -> bool:
        """Past its planned end: the drift the policy's reviews are there to stop."""
        return self.planned_end is not None and self.until > self.planned_end


@drawn_once
def time_against_plan(spans: Sequence[Span]) -> Picture | None:
    """For each placement, the weeks planned beside the weeks so far; a
    placement past its planned end shows red."""
    spans = [s for s in spans if s.until >= s.start]
    if not spans:
        return None
    chart = _chart(pygal.HorizontalBar, [GREY, BLUE], height=110 + 48 * len(spans), show_y_guides=False,
                   x_title="Weeks")
    top_down = spans[::-1]  # a horizontal chart draws its first row at the bottom
    chart.x_labels = [s.label for s in top_down]
    chart.add("Planned", [s.weeks_planned for s in top_down])
    chart.add("So far",
              [{"value": s.weeks_so_far, "color": RED} if s.drifting else s.weeks_so_far for s in top_down])
    drifting = sum(s.drifting for s in spans)
    return Picture(
        "time-against-plan", "Time in placement against plan",
        f"Weeks so far beside weeks planned for {_count(len(spans), 'placement')}: "
        f"{drifting or 'none'} past {'its' if drifting == 1 else 'their'} planned end.",
        _draw(chart), (("Planned", GREY), ("So far", BLUE), ("So far, past its planned end", RED)),
        ("Placement", "Weeks planned", "Weeks so far", "Past its planned end"),
        tuple((s.label, "no end planned" if s.weeks_planned is None else s.weeks_planned, s.weeks_so_far,
               "yes" if s.drifting else "no") for s in spans),
    )


ATTENDANCE_COLOURS = (GREEN, ORANGE, RED, LIGHT_GREY)


@dataclass(frozen=True)
class Week:
    """One school week's sessions of a placement, by what their marks count as."""

    monday: date
    present: int = 0
    authorised: int = 0
    unauthorised: int = 0
    unmarked: int = 0


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@drawn_once
def attendance_by_week(weeks: Sequence[Week]) -> Picture | None:
    """A bar a week: the sessions attended, absent with and without
    authority, and not yet marked."""
    weeks = [w for w in weeks if w.present + w.authorised + w.unauthorised + w.unmarked]
    if not weeks:
        return None
    most = max(w.present + w.authorised + w.unauthorised + w.unmarked for w in weeks)
    chart = _chart(pygal.StackedBar, ATTENDANCE_COLOURS, height=300, show_x_guides=False, y_labels=_whole(most),
                   y_title="Sessions", x_label_rotation=-45 if len(weeks) > 12 else 0)
    chart.x_labels = [w.monday.strftime("%-d %b") for w in weeks]
    series = (("Present", "present"), ("Authorised absence", "authorised"),
              ("Unauthorised absence", "unauthorised"), ("Not marked", "unmarked"))
    for name, field in series:
        chart.add(name, [getattr(w, field) or None for w in weeks])
    present = sum(w.present for w in weeks)
    possible = sum(w.present + w.authorised + w.unauthorised for w in weeks)
    share = f"{round(100 * present / possible)}% of the sessions marked were attended" if possible else "no session marked yet"
    return Picture(
        "attendance-by-week", "Attendance week by week",
        f"{_count(len(weeks), 'week')} of sessions, each a bar: {share}.",
        _draw(chart), tuple((name, colour) for (name, _), colour in zip(series, ATTENDANCE_COLOURS)),
        ("Week from", *(name for name, _ in series)),
        tuple((w.monday.strftime("%-d %B %Y"), *(getattr(w, field) for _, field in series)) for w in weeks),
    )


@dataclass(frozen=True)
class Scored:
    """One evaluation's total out of 125."""

    placement: str  # how the page names the placement
    stage: str  # "Mid", "End"
    on: date
    total: int


@drawn_once
def evaluation_totals(scored: Sequence[Scored], title: str = "Evaluation totals over time") -> Picture | None:
    """Each evaluation's total out of 125 in the order they were made: a line
    a placement, so one placement's shows its course and a provider's sets
    its placements side by side."""
    scored = sorted(scored, key=lambda s: s.on)
    if not scored:
        return None
    placements = list(dict.fromkeys(s.placement for s in scored))
    days = sorted({s.on for s in scored})
    colours = [BLUE, GREEN, PURPLE, ORANGE, TURQUOISE, RED, GREY, YELLOW]
    # Dates on a time axis: each placement's points are joined however the others fall between them.
    chart = _chart(pygal.DateLine, [colours[i % len(colours)] for i in range(len(placements))], height=320,
                   range=(0, 125), y_labels=[0, 25, 50, 75, 100, 125], y_title="Total out of 125",
                   show_x_guides=False, dots_size=5, stroke_style={"width": 3}, margin_right=60,
                   x_value_formatter=lambda d: d.strftime("%-d %b %Y"),
                   x_label_rotation=-45 if len(days) > 6 else 0)
    chart.x_labels = days
    for name in placements:
        chart.add(name, [(s.on, s.total) for s in scored if s.placement == name])
    first, last = scored[0].total, scored[-1].total
    if len(scored) == 1:
        summary = f"1 evaluation: {first} out of 125."
    elif len(placements) == 1:
        summary = f"{len(scored)} evaluations of 1 placement: from {first} to {last} out of 125."
    else:
        summary = f"{len(scored)} evaluations of {len(placements)} placements, each placement a line."
    return Picture(
        "evaluation-totals", title, summary, _draw(chart),
        tuple((name, colours[i % len(colours)]) for i, name in enumerate(placements)) if len(placements) > 1 else (),
        ("Evaluation", "Placement", "Total out of 125"),
        tuple((f"{s.stage}, {s.on.strftime('%-d %B %Y')}", s.placement, s.total) for s in scored),
    )
