"""The feature list: every model feature in features.person_features with a one-line description.

The order here is the order the models see. A test checks that it matches the table's columns,
so a feature added to the SQL without a description (or the other way round) fails the build.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import DEVICES, ENGAGEMENT_EVENT_TYPES, THEMES

# Bump when a feature is added, removed or changes meaning; logged with every training run.
# 4.0: per-theme watch seconds and completion dropped (44 columns): no loss of test AUC on a
# simulated world (bench/results/model.md), faster scoring and feature builds.
FEATURE_SET_VERSION = "4.0"

WINDOWS_DAYS = (3, 7, 14, 30, 90)
CHANNELS = ("meta", "instagram", "youtube", "google", "tiktok", "linkedin", "snapchat",
            "schibsted", "bonnier", "programmatic", "web", "email")
# Columns of person_features that describe a person but are not model inputs.
KEY_COLUMNS = ("person_id", "id_type", "as_of_date")
DESCRIPTIVE_COLUMNS = ("home_region", "top_municipality_shown_90d")

_EVENT_WORDS = {
    "impression": "times shown a film or image",
    "view": "views (image viewed or film started)",
    "video_progress": "film watch events",
    "click": "clicks",
    "share": "shares",
    "reaction": "reactions",
    "comment": "comments",
}


@dataclass(frozen=True)
class Feature:
    name: str
    description: str


def _history() -> list[Feature]:
    return [
        Feature("is_home_region_sweden", "1 if the home region (most frequent region) is in Sweden"),
        Feature("is_home_region_north", "1 if the home region is Norrbotten, Västerbotten, "
                "Västernorrland or Jämtland"),
        Feature("n_events_all", "all events before as_of"),
        Feature("n_engagements_all", "engagements (not impressions, not intent) before as_of"),
        Feature("active_days_all", "days with any event before as_of"),
        Feature("events_per_active_day_all", "events per active day before as_of"),
        Feature("days_since_first_event", "days from the first event to as_of"),
        Feature("days_since_last_event", "days from the last event to as_of (recency)"),
        Feature("days_since_last_engagement", "days from the last engagement to as_of"),
        Feature("n_intent_all", "earlier intent events of any type before as_of"),
        Feature("n_job_click_all", "earlier clicks through to job listings"),
        Feature("n_guide_download_all", "earlier moving-guide downloads"),
        Feature("n_inquiry_all", "earlier questions to a newcomer service"),
        Feature("n_signup_all", "earlier interest-list or newsletter sign-ups"),
        Feature("n_fair_registration_all", "earlier recruitment-fair registrations"),
        Feature("days_since_last_intent", "days from the last intent event to as_of (empty if none)"),
        Feature("n_intent_municipalities_all", "distinct municipalities named by earlier intent events"),
    ]


def _engagement() -> list[Feature]:
    features = []
    for days in WINDOWS_DAYS:
        for event_type in ENGAGEMENT_EVENT_TYPES:
            features.append(Feature(f"n_{event_type}_{days}d",
                                    f"{_EVENT_WORDS[event_type]} in the {days} days before as_of"))
        features += [
            Feature(f"n_engagements_{days}d", f"engagements (not impressions) in the {days} days before"),
            Feature(f"n_intent_{days}d", f"intent events in the {days} days before as_of"),
            Feature(f"active_days_{days}d", f"days with any event in the {days} days before as_of"),
            Feature(f"watch_seconds_{days}d", f"seconds of film watched in the {days} days before"),
        ]
    for days in (7, 30, 90):
        features += [
            Feature(f"engagement_rate_{days}d",
                    f"engagements per impression in the {days} days before (empty without impressions)"),
            Feature(f"click_rate_{days}d",
                    f"clicks per impression or view in the {days} days before"),
            Feature(f"view_rate_{days}d",
                    f"views per impression in the {days} days before (empty without impressions)"),
        ]
    features += [
        Feature("trend_engagements_7d_vs_prior_21d",
                "engagements in the last 7 days against the weekly mean of the 21 days before (+1 smoothed)"),
        Feature("trend_active_days_7d_vs_prior_21d",
                "active days in the last 7 days against the weekly mean of the 21 days before"),
    ]
    for days in (7, 14):
        features += [
            Feature(f"trend_engagements_{days}d_vs_90d",
                    f"engagements in the last {days} days against the 90-day pace (+1 smoothed)"),
            Feature(f"trend_impressions_{days}d_vs_90d",
                    f"impressions in the last {days} days against the 90-day pace (+1 smoothed)"),
        ]
    features += [
        Feature("n_channels_90d", "distinct channels in the 90 days before as_of"),
    ]
    features += [Feature(f"channel_share_90d__{channel}",
                         f"share of the 90-day events that came through {channel}")
                 for channel in CHANNELS]
    features += [Feature(f"device_share_90d__{device}",
                         f"share of the 90-day events on a {device} device")
                 for device in DEVICES]
    return features


def _themes() -> list[Feature]:
    features = [Feature(f"theme_share_90d__{theme}",
                        f"share of the 90-day engagements on content tagged {theme}")
                for theme in THEMES]
    features += [Feature(f"theme_engagements_30d__{theme}",
                         f"engagements on content tagged {theme} in the 30 days before")
                 for theme in THEMES]
    features += [
        Feature("n_themes_90d", "breadth of interest: themes engaged with in the 90 days before"),
        Feature("n_themes_30d", "breadth of interest: themes engaged with in the 30 days before"),
        Feature("completion_ratio_90d", "mean completion ratio of films watched in the 90 days before"),
        Feature("n_films_completed_90d", "films watched to at least 90 % in the 90 days before"),
        Feature("n_municipalities_shown_90d",
                "distinct municipalities shown by the content engaged with in the 90 days before"),
        Feature("job_share_90d", "share of the 90-day engagements on job content (any *_jobs theme)"),
        Feature("job_share_30d", "share of the 30-day engagements on job content"),
    ]
    features += [Feature(f"job_engagements_{days}d",
                         f"engagements on job content in the {days} days before as_of")
                 for days in (7, 14, 30, 90)]
    features += [Feature(f"job_view_rate_{days}d",
                         f"views per impression of job content in the {days} days before")
                 for days in (14, 30, 90)]
    features += [Feature(f"job_click_rate_{days}d",
                         f"clicks per impression of job content in the {days} days before")
                 for days in (30, 90)]
    features += [Feature(f"job_completion_{days}d",
                         f"mean completion ratio of job films watched in the {days} days before")
                 for days in (30, 90)]
    return features


FEATURES: tuple[Feature, ...] = tuple(_history() + _engagement() + _themes())
FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)


def feature_list_text() -> str:
    """The feature list as plain text, one `name: description` per line (logged with each run)."""
    lines = [f"# Norrut feature set {FEATURE_SET_VERSION}: {len(FEATURES)} features", ""]
    lines += [f"{feature.name}: {feature.description}" for feature in FEATURES]
    return "\n".join(lines) + "\n"
