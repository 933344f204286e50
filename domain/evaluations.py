"""The policy appendix's "Mid and End of Placement Evaluation": its 25
statements, each scored from "Strongly agree 5" to "Strongly disagree 1",
how a part is judged when it is recorded, and the figures the appendix asks
for: the score out of 125 and the difference since the last evaluation.

The statements are worded exactly as the appendix words them, with its
combined reading ("are/were", "is helping/has helped") for both the mid and
the end evaluation, so the form a pupil, parent, provider or school fills in
is the appendix's own. A placement has one mid evaluation and one end
evaluation; each part is recorded once, by the person whose part it is
(through their link: pupil, parent, provider) or by the school's staff, for
the school's part or on someone's behalf (a paper form), and the end
evaluation, with all four parts, is what `close` needs.
"""
from __future__ import annotations

from datetime import datetime

from .guards import Context, Unmet
from .models import (
    Actor,
    EvaluationAnswer,
    EvaluationPart,
    EvaluationRecord,
    EvaluationStage,
    Placement,
    Role,
)

CLAUSE = "appendix: evaluation"

# The scale, highest first, as the appendix heads its columns.
SCALE: tuple[tuple[int, str], ...] = (
    (5, "Strongly agree"), (4, "Agree"), (3, "Not sure"), (2, "Disagree"), (1, "Strongly disagree"),
)

STATEMENTS: dict[EvaluationPart, tuple[str, ...]] = {
    EvaluationPart.pupil: (
        "The adults at the AP are/were very skilled in what they are/were teaching/delivering.",
        "I receive(d) enough support whilst at the setting",
        "I always feel/felt safe whilst at the setting",
        "I know/knew who I can/could talk to if needed",
        "I understand/understood how the sessions are/were helping me to progress in the future",
        "I am more confident as a result of this placement",
        "I am coping better at school as a result of this placement",
    ),
    EvaluationPart.parent: (
        "I understand/understood why my child was referred to an AP",
        "I felt included as part of the referral process",
        "I have received good communication throughout the AP placement",
        "The AP provides/provided a safe and friendly learning environment",
        "The AP is helping/has helped my child to progress through education",
    ),
    EvaluationPart.provider: (
        "The initial objectives are being/have been achieved (provide detail below)",
        "The pupil is attending/has attended well",
        "The pupil is engaging/has engaged well",
        "The pupil is making/has made academic progress (provide detail below)",
        "The pupil is making/has made good progress in vocational courses",
        "The pupil is making/has made SEMH progress",
    ),
    EvaluationPart.school: (
        "The rationale for sending the pupil to AP are being/have been achieved",
        "The pupil is coping/has coped better at school since attending.",
        "Attendance at school is improving/has improved since the placement started",
        "Engagement at school is improving/has improved since the placement started",
        "The pupil 's behaviour at school is improving/has improved since the placement started",
        "Communication has been clear between the school and the AP",
        "The AP placement has supported the pupil's next steps",
    ),
}

# Each part's heading, comment and signature as the appendix names them.
HEADINGS = {
    EvaluationPart.pupil: "Pupil's evaluation",
    EvaluationPart.parent: "Parent/carers evaluation",
    EvaluationPart.provider: "Alternative Provider report",
    EvaluationPart.school: "School Comment",
}
COMMENTS = {
    EvaluationPart.pupil: "General comments",
    EvaluationPart.parent: "General Comment",
    EvaluationPart.provider: "General comment",
    EvaluationPart.school: "General comment",
}
SIGNATURES = {
    EvaluationPart.pupil: "Pupil Signature",
    EvaluationPart.parent: "Parent/carers Signature",
    EvaluationPart.provider: "AP Signature",
    EvaluationPart.school: "Headteacher Signature",
}
STAGES = {EvaluationStage.mid: "mid evaluation", EvaluationStage.end: "end evaluation"}
WHOSE = {
    EvaluationPart.pupil: "the pupil's", EvaluationPart.parent: "the parent's",
    EvaluationPart.provider: "the provider's", EvaluationPart.school: "the school's",
}

MAX_SCORE = max(v for v, _ in SCALE) * sum(len(s) for s in STATEMENTS.values())  # 125

# Who answers each part through a link of their own; the school's part is its staff's.
ANSWERED_BY = {EvaluationPart.pupil: Role.pupil, EvaluationPart.parent: Role.parent, EvaluationPart.provider: Role.provider}


def record(p: Placement, stage: EvaluationStage) -> EvaluationRecord | None:
    return next((e for e in p.evaluations if e.stage is stage), None)


def answer(e: EvaluationRecord | None, part: EvaluationPart) -> EvaluationAnswer | None:
    return getattr(e, part.value) if e is not None else None


def missing(e: EvaluationRecord | None) -> list[EvaluationPart]:
    """The parts not yet recorded, in the appendix's order."""
    return [part for part in EvaluationPart if answer(e, part) is None]


def complete(e: EvaluationRecord | None) -> bool:
    return e is not None and not missing(e)


def total(e: EvaluationRecord | None) -> int:
    """The score so far: every statement of every part recorded (out of 125 once complete)."""
    return sum(sum(a.scores) for part in EvaluationPart if (a := answer(e, part)) is not None)


def previous(p: Placement, stage: EvaluationStage) -> EvaluationRecord | None:
    """The evaluation before this one, if there was one and it was completed."""
    if stage is EvaluationStage.end:
        mid = record(p, EvaluationStage.mid)
        return mid if complete(mid) else None
    return None


def difference(p: Placement, stage: EvaluationStage) -> int | None:
    """"Difference since last evaluation (+/-)": this evaluation's score less
    the last complete one's; none until both are complete."""
    this, before = record(p, stage), previous(p, stage)
    if not complete(this) or before is None:
        return None
    return total(this) - total(before)


def signed(n: int | None) -> str:
    """A difference as the appendix writes it: +7, -3, 0."""
    return "" if n is None else f"{n:+d}" if n else "0"


def completed(p: Placement) -> list[tuple[EvaluationStage, object, int]]:
    """(stage, the day its last part was signed, its score) of each complete
    evaluation, the mid first."""
    out = []
    for e in sorted(p.evaluations, key=lambda e: list(EvaluationStage).index(e.stage)):
        if complete(e):
            out.append((e.stage, max(answer(e, part).signed_on for part in EvaluationPart), total(e)))
    return out


def end_total(p: Placement) -> int | None:
    """The end-of-placement score: the recorded end evaluation's, or the
    scores older versions took at close."""
    end = record(p, EvaluationStage.end)
    if complete(end):
        return total(end)
    return p.closure.evaluation.total if p.closure and p.closure.evaluation else None


# --- recording a part ---------------------------------------------------------


def fold(p: Placement, stage: EvaluationStage, part: EvaluationPart, given: EvaluationAnswer,
         agreed_actions: str | None) -> None:
    """Adds the part to its evaluation on `p` (a copy), making the evaluation on its first part."""
    e = record(p, stage)
    if e is None:
        e = EvaluationRecord(stage=stage)
        p.evaluations.append(e)
    if answer(e, part) is None:  # recorded once: the guard refuses a second
        setattr(e, part.value, given)
        if part is EvaluationPart.school:
            e.agreed_actions = agreed_actions


def judge_request(before: Placement, stage: EvaluationStage, part: EvaluationPart) -> list[Unmet]:
    """What asking for this part by email leaves unmet: a part answered through
    a link (not the school's), not recorded yet, and the mid not once the end has begun."""
    whose, what = WHOSE[part], STAGES[stage]
    if part not in ANSWERED_BY:
        return [Unmet(CLAUSE, "the school's part is completed by its staff: it is not sent for")]
    unmet = []
    done = answer(record(before, stage), part)
    if done is not None:
        unmet.append(Unmet(CLAUSE, f"{whose} part of the {what} was recorded already, on {done.signed_on}"))
    if stage is EvaluationStage.mid and record(before, EvaluationStage.end) is not None:
        unmet.append(Unmet(CLAUSE, "the end evaluation has begun: the mid evaluation can no longer be added to"))
    return unmet


def judge_part(before: Placement, stage: EvaluationStage, part: EvaluationPart, scores: list[int],
               signed_on, agreed_actions: str | None, ctx: Context) -> list[Unmet]:
    """What recording this part leaves unmet: who may give it, that it is
    not recorded yet, its scores, its date, and the mid before the end."""
    unmet: list[Unmet] = []
    role, whose, what = ctx.actor.role, WHOSE[part], STAGES[stage]
    if role in ANSWERED_BY.values() and ANSWERED_BY.get(part) is not role:
        unmet.append(Unmet(CLAUSE, f"a link for the {role.value}'s part cannot record {whose} part"))
    if part is EvaluationPart.school and role not in (Role.ap_lead, Role.headteacher):
        unmet.append(Unmet(CLAUSE, "the school's part is completed by the school's AP lead or headteacher"))
    done = answer(record(before, stage), part)
    if done is not None:
        unmet.append(Unmet(CLAUSE, f"{whose} part of the {what} was recorded already, on {done.signed_on}: "
                                   "a part is recorded once"))
    need = len(STATEMENTS[part])
    if len(scores) != need:
        unmet.append(Unmet(CLAUSE, f"{whose} part has {need} statements: {need} scores are needed, {len(scores)} were given"))
    if signed_on > ctx.today:
        unmet.append(Unmet(CLAUSE, f"{whose} part cannot be signed after today ({ctx.today}): it was dated {signed_on}"))
    elif signed_on < before.start_date:
        unmet.append(Unmet(CLAUSE, f"the placement started on {before.start_date}: {whose} part cannot be signed before it ({signed_on})"))
    if part is EvaluationPart.school and not (agreed_actions or "").strip():
        unmet.append(Unmet(CLAUSE, "the agreed actions as a result of this evaluation are needed with the school's part"))
    if part is not EvaluationPart.school and agreed_actions:
        unmet.append(Unmet(CLAUSE, "the agreed actions are recorded with the school's part"))
    if stage is EvaluationStage.mid and record(before, EvaluationStage.end) is not None:
        unmet.append(Unmet(CLAUSE, "the end evaluation has begun: the mid evaluation can no longer be added to"))
    return unmet


def new_answer(scores: list[int], comment: str | None, signed_by: str, signed_on, part: EvaluationPart,
               actor: Actor, at: datetime | None) -> EvaluationAnswer:
    """The part as the placement keeps it; staff giving a part that is
    someone else's give it on their behalf."""
    return EvaluationAnswer(
        scores=scores, comment=comment, signed_by=signed_by, signed_on=signed_on, recorded_by=actor,
        recorded_at=at or datetime.min, on_behalf=part is not EvaluationPart.school and actor.role not in ANSWERED_BY.values(),
    )


# --- closing --------------------------------------------------------------------


def end_evaluation_unmet(p: Placement) -> list[Unmet]:
    """`close` needs the end evaluation with all four parts (or, for a
    placement older versions closed, the scores typed in at close)."""
    if p.closure is not None and p.closure.evaluation is not None:
        return []
    end = record(p, EvaluationStage.end)
    if end is None:
        return [Unmet(CLAUSE, "the end-of-placement evaluation is needed: record its four parts (pupil, parent, provider, school)")]
    gaps = missing(end)
    if gaps:
        return [Unmet(CLAUSE, "the end-of-placement evaluation is not complete: "
                              + ", ".join(f"{WHOSE[g]}" for g in gaps) + f" part{'s are' if len(gaps) > 1 else ' is'} not recorded yet")]
    return []


def typed_scores(action) -> list[Unmet]:
    """A new `close` may no longer carry the evaluation's scores: they come
    from the recorded end evaluation. (Stored histories' closes carry them,
    so this is asked of new requests only, in the workflow's validator.)"""
    if getattr(action, "action", None) == "close" and getattr(action, "evaluation", None) is not None:
        return [Unmet(CLAUSE, "`evaluation` is not accepted at close: record the end evaluation's four parts "
                              "(record_evaluation, or the links sent to the pupil, parent and provider)")]
    return []
