"""The practice's analytics pages: the dashboard, the weekly series review, the ROI model, CSV exports.

Managers and owners see the practice's figures; front-desk staff see their own queue figures.
"""

import csv
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from practices.audit import audited
from practices.tenancy import practice_for_user, user_manages

from . import quality, selectors
from .filters import EARLIEST, LATEST, Filters


def practice_view(*, managers_only: bool):
    def decorate(view):
        @login_required
        @require_GET
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            practice = practice_for_user(request.user)
            if practice is None:
                raise PermissionDenied("This account does not belong to a practice.")
            request.practice = practice
            request.manages = user_manages(request.user)
            if managers_only and not request.manages:
                raise PermissionDenied("Practice analytics are for managers and owners.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _filters(request) -> tuple[Filters, dict]:
    try:
        return Filters.from_query(request.practice, request.GET), {}
    except ValidationError as error:
        return Filters.from_query(request.practice, {}), error.message_dict


def _choices(practice) -> dict:
    return {
        "locations": practice.locations.order_by("name"),
        "services": practice.services.filter(is_active=True).order_by("name"),
        "sources": [("direct", "No campaign")]
        + list(practice.campaigns.order_by("name").values_list("source_code", "name")),
    }


PRESETS = [("7", "Last 7 days"), ("28", "Last 4 weeks"), ("90", "Last 90 days"), ("365", "Last 12 months")]


@practice_view(managers_only=False)
def dashboard(request):
    filters, errors = _filters(request)
    status = 400 if errors else 200
    if not request.manages:
        context = {
            "practice": request.practice,
            "filters": filters,
            "errors": errors,
            "mine": selectors.staff_figures(request.practice, request.user, filters),
        }
        return render(request, "analytics/mine.html", context, status=status)
    board = selectors.dashboard(request.practice, filters)
    context = {
        "practice": request.practice,
        "filters": filters,
        "errors": errors,
        "board": board.figures,
        "charts": _charts(board.figures),
        "hours": range(24),
        "heatmap_max": max((max(row["hours"]) for row in board.figures["heatmap"]), default=0),
        "query": filters.as_query(),
        "presets": _presets(request.practice, filters),
        "mine": selectors.staff_figures(request.practice, request.user, filters),
        **_choices(request.practice),
    }
    return render(request, "analytics/dashboard.html", context, status=status)


def _presets(practice, filters: Filters) -> list[tuple[str, dict]]:
    today = selectors.practice_today(practice)
    return [
        (label, Filters(start=today - timedelta(days=int(days) - 1), end=today, **_dims(filters)).as_query())
        for days, label in PRESETS
    ]


@practice_view(managers_only=True)
def receptionist_quality(request):
    """Receptionist quality, computed live from a year of records at most: its own page, or the dashboard's
    section, which loads it after the page so that the dashboard itself stays fast."""
    filters, errors = _filters(request)
    context = {
        "practice": request.practice,
        "filters": filters,
        "errors": errors,
        "query": filters.as_query(),
        "quality": quality.figures(request.practice, filters),
    }
    status = 400 if errors else 200
    if request.htmx:
        return render(request, "analytics/_quality.html", context, status=status)
    context |= {"presets": _presets(request.practice, filters), **_choices(request.practice)}
    return render(request, "analytics/quality.html", context, status=status)


def _charts(board: dict) -> dict:
    """Only what the charts draw; every number is also in the page's tables."""
    return {
        "funnel": {
            "labels": [row["label"] for row in board["funnel"]],
            "counts": [row["count"] for row in board["funnel"]],
        },
        "daily": {
            "labels": [row["day"] for row in board["daily"]],
            **{name: [row[name] for row in board["daily"]] for name in selectors.DAILY},
        },
        "missed": {
            "labels": [row["label"] for row in board["calls"]["missed_reasons"]],
            "counts": [row["count"] for row in board["calls"]["missed_reasons"]],
        },
        "escalations": {
            "labels": [row["label"] for row in board["escalations"]],
            "counts": [row["count"] for row in board["escalations"]],
        },
    }


def _dims(filters: Filters) -> dict:
    return {"location_id": filters.location_id, "source": filters.source, "service_id": filters.service_id}


@practice_view(managers_only=True)
def series_review(request):
    today = selectors.practice_today(request.practice)
    try:
        week = date.fromisoformat(request.GET.get("week", "")) if request.GET.get("week") else today
        error = ""
    except ValueError:
        week, error = today, "The week must be a date like 2026-11-16."
    if not EARLIEST <= week <= LATEST:
        week, error = today, f"The week must be between {EARLIEST} and {LATEST}."
    review = selectors.series_review(request.practice, week_start=week)
    context = {
        "practice": request.practice,
        "review": review,
        "overview": selectors.series_overview(request.practice),
        "previous_week": review["week_start"] - timedelta(days=7),
        "next_week": review["week_start"] + timedelta(days=7),
        "error": error,
    }
    return render(request, "analytics/series.html", context, status=400 if error else 200)


ROI_FIELDS = {
    "monthly_calls": ("Calls a month", int, 0, 1_000_000),
    "booking_intent_percent": ("Share with booking intent (%)", Decimal, 0, 100),
    "recovery_lift_percent": ("Recovery lift (%)", Decimal, 0, 100),
    "average_visit_value": ("Average visit value ($)", Decimal, 0, 100_000),
}


@practice_view(managers_only=True)
def roi(request):
    defaults, actual = selectors.roi_defaults(request.practice)
    values, errors = {}, {}
    for name, (label, kind, low, high) in ROI_FIELDS.items():
        raw = (request.GET.get(name) or "").strip()
        if not raw:
            values[name] = getattr(defaults, name)
            continue
        try:
            value = kind(raw)
        except (ValueError, InvalidOperation):
            errors[name] = f"{label} must be a number."
            values[name] = getattr(defaults, name)
            continue
        if not low <= value <= high:
            errors[name] = f"{label} must be between {low:,} and {high:,}."
            values[name] = getattr(defaults, name)
            continue
        values[name] = value
    inputs = selectors.RoiInputs(**values)
    context = {
        "practice": request.practice,
        "inputs": inputs,
        "defaults": defaults,
        "actual": actual,
        "errors": errors,
        "fields": [
            (name, label, values[name], getattr(defaults, name)) for name, (label, *_rest) in ROI_FIELDS.items()
        ],
    }
    return render(request, "analytics/roi.html", context, status=400 if errors else 200)


# CSV: every chart's numbers.


def _table(name: str, board: dict) -> tuple[list[str], list[list]]:
    if name == "daily":
        return ["day", "calls", "missed", "texted", "booked"], [
            [row["day"], row["calls"], row["missed"], row["texted"], row["booked"]] for row in board["daily"]
        ]
    if name == "funnel":
        return ["stage", "count", "rate_from_previous_percent"], [
            [row["label"], row["count"], row["rate"] if row["rate"] is not None else ""] for row in board["funnel"]
        ]
    if name == "heatmap":
        return ["weekday", *[f"{hour:02d}:00" for hour in range(24)], "total"], [
            [row["weekday"], *row["hours"], row["total"]] for row in board["heatmap"]
        ]
    if name == "missed-reasons":
        return ["reason", "count"], [[row["label"], row["count"]] for row in board["calls"]["missed_reasons"]]
    if name == "escalations":
        return ["category", "count", "claimed", "median_seconds_to_claim"], [
            [row["label"], row["count"], row["claimed"], row["median_claim_seconds"] or ""]
            for row in board["escalations"]
        ]
    if name == "campaigns":
        return ["source", "name", "calls", "missed", "recovered_bookings", "bookings", "bookings_value"], [
            [
                row["source"],
                row["name"],
                row["calls"],
                row["missed"],
                row["recovered_bookings"],
                row["bookings"],
                row["bookings_value"],
            ]
            for row in board["campaigns"]
        ]
    if name == "cancellations":
        return ["reason", "count"], [[row["reason"], row["count"]] for row in board["visits"]["cancel_reasons"]]
    raise Http404("No such table.")


QUALITY_TABLES = ["quality", "handover-reasons", "summary-fields"]
TABLES = ["daily", "funnel", "heatmap", "missed-reasons", "escalations", "campaigns", "cancellations", *QUALITY_TABLES]


def _blank(value):
    return "" if value is None else value


def _quality_table(name: str, figures: dict) -> tuple[list[str], list[list]]:
    """The receptionist-quality figures: one row per measure, per reason, per summary field."""
    if name == "quality":
        adverse = figures["adverse_events"]
        measures = [
            ("conversations", "count", figures["conversations"]),
            *[
                ("approved_answers", key, figures["approved_answers"][key])
                for key in ("questions", "approved", "other", "rate")
            ],
            *[
                ("staff_review", key, figures["staff_review"][key])
                for key in ("conversations", "handed_to_staff", "escalated", "taken_over", "rate")
            ],
            *[
                ("adverse_events", key, adverse[key])
                for key in ("handed_off", "rate", "escalations", "emergency", "clinical_reaction")
            ],
            *[
                ("adverse_events", f"{step}_{key}", adverse[step][key])
                for step in ("to_alert", "to_claim")
                for key in ("count", "median_seconds", "p90_seconds")
            ],
            ("adverse_events", "no_alert_sent", adverse["no_alert_sent"]),
            ("adverse_events", "unclaimed", adverse["unclaimed"]),
            *[
                ("summary_completeness", key, figures["summary_completeness"][key])
                for key in ("escalations", "mean_percent", "complete")
            ],
            *[
                ("messages_per_booking", key, figures["messages_per_booking"][key])
                for key in ("bookings", "messages", "mean", "median")
            ],
            ("handover_reasons", "takeovers", figures["handover_reasons"]["takeovers"]),
        ]
        return ["figure", "measure", "value"], [
            [figure, "rate_percent" if key == "rate" else key, _blank(value)] for figure, key, value in measures
        ]
    if name == "handover-reasons":
        reasons = figures["handover_reasons"]
        return ["kind", "category", "rule", "count"], [
            *[["category", row["category"], "", row["count"]] for row in reasons["categories"]],
            *[["rule", row["category"], row["rule"], row["count"]] for row in reasons["rules"]],
            ["staff_takeover", "", "", reasons["takeovers"]],
        ]
    if name == "summary-fields":
        return ["field", "missing", "missing_percent"], [
            [row["field"], row["count"], _blank(row["percent"])] for row in figures["summary_completeness"]["missing"]
        ]
    raise Http404("No such table.")


def _safe(value):
    """Keep a spreadsheet from running what a patient or campaign wrote as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(text) else value


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@practice_view(managers_only=True)
@audited("analytics export", id_kwarg="table")
def export(request, table: str):
    if table not in TABLES:
        raise Http404("No such table.")
    filters, errors = _filters(request)
    if errors:
        return HttpResponse("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), status=400)
    if table in QUALITY_TABLES:
        header, rows = _quality_table(table, quality.figures(request.practice, filters))
    else:
        header, rows = _table(table, selectors.dashboard(request.practice, filters).figures)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{request.practice.slug}-{table}-{filters.start}-{filters.end}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(cell) for cell in row])
    return response
