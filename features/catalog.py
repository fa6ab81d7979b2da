"""The feature catalog: every model feature in features.person_features, declared once.

A declaration says what a feature is (name, description, type), which intermediate table
computes it and how (kind, window, event type, theme, channel or device), and what a person
absent from that table gets. The table's DDL, the casts of the insert and the repetitive
window x event-type x theme columns of the feature SQL are generated from it
(features/feature_sql.py), so adding a window or a theme is one line here. The order here is the
order the models see.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.contract import DEVICES, ENGAGEMENT_EVENT_TYPES, THEMES

# Bump when a feature is added, removed or changes meaning; logged with every training run.
# 4.0: per-theme watch seconds and completion dropped (44 columns): no loss of test AUC on a
# simulated world (bench/results/model.md), faster scoring and feature builds.
# 4.1: job content includes green industry (JOB_CONTENT_THEMES), same columns.
FEATURE_SET_VERSION = "4.1"

# Job content: films and images tagged with a theme about work up north. Green industry (steel,
# batteries, data centres) is what the new jobs are in, so its content counts with the *_jobs
# themes. Every job_* feature and the themes table's is_job_content read this.
JOB_CONTENT_THEMES = ("green_industry", "engineering_jobs", "tech_jobs", "healthcare_jobs",
                      "education_jobs", "public_sector_jobs")
WINDOWS_DAYS = (3, 7, 14, 30, 90)
RATE_WINDOWS_DAYS = (7, 30, 90)
TREND_WINDOWS_DAYS = (7, 14)
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
    """One model feature. `kind` names how features/feature_sql.py generates its SQL;
    "hand_written" means its expression is written out in its table's .sql file."""

    name: str
    description: str
    table: str  # the intermediate table computing it: "history", "engagement" or "themes"
    kind: str = "hand_written"
    # what a person missing from `table` (no activity in its window) gets; None leaves it null
    when_absent: int | None = 0
    window_days: int | None = None
    event_type: str | None = None
    theme: str | None = None
    channel: str | None = None
    device: str | None = None
    sql_type: str = "double"
    # What a campaign manager reads when a segment's members have a higher (`phrase`) or lower
    # (`phrase_lower`) value than everyone scored: words after "its members ...", as the
    # segment drivers (activation/drivers.py) show them.
    phrase: str = ""
    phrase_lower: str = ""
    # +1: the model's score may never fall as this feature grows, all else equal (LightGBM's
    # monotone constraint, a non-negative coefficient in the logistic baseline); 0: free.
    increasing: int = 0


def _said(more: str, less: str, days: int | None = None) -> dict[str, str]:
    """A feature's phrases for a higher and a lower value, with its window when it has one."""
    window = f" in the last {days} days" if days else ""
    return {"phrase": more + window, "phrase_lower": less + window}


def _theme_words(theme: str) -> str:
    return theme.replace("_", " ")


@dataclass(frozen=True)
class FeatureCatalog:
    """The features of one feature set, in model order."""

    features: tuple[Feature, ...]
    job_themes: tuple[str, ...] = JOB_CONTENT_THEMES

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    @property
    def table_columns(self) -> tuple[str, ...]:
        """The columns of features.person_features, in order."""
        return (*KEY_COLUMNS, *DESCRIPTIVE_COLUMNS, *self.names)

    def increasing(self, names) -> list[int]:
        """Each named feature's monotone constraint (1 increasing, 0 free), in that order;
        names outside the catalog are free."""
        declared = {feature.name: feature.increasing for feature in self.features}
        return [declared.get(str(name), 0) for name in names]

    def of_table(self, table: str) -> tuple[Feature, ...]:
        return tuple(feature for feature in self.features if feature.table == table)

    @property
    def themes(self) -> tuple[str, ...]:
        """Every theme a feature names, in first-declared order."""
        return tuple(dict.fromkeys(feature.theme for feature in self.features if feature.theme))


def _history() -> list[Feature]:
    def history(name: str, description: str, more: str, less: str) -> Feature:
        # person_history is the table the insert starts from: nobody is absent from it
        return Feature(name, description, "history", when_absent=None, **_said(more, less))

    return [
        history("is_home_region_sweden", "1 if the home region (most frequent region) is in Sweden",
                "live in Sweden more often", "live abroad more often"),
        history("is_home_region_north", "1 if the home region is Norrbotten, Västerbotten, "
                "Västernorrland or Jämtland", "already live in the north more often",
                "live further south more often"),
        history("n_events_all", "all events before as_of", "have been more active overall",
                "have been less active overall"),
        history("n_engagements_all", "engagements (not impressions, not intent) before as_of",
                "engaged with the films and images more", "engaged with the films and images less"),
        history("active_days_all", "days with any event before as_of", "came back on more days",
                "came back on fewer days"),
        history("events_per_active_day_all", "events per active day before as_of",
                "did more on each visit", "did less on each visit"),
        history("days_since_first_event", "days from the first event to as_of",
                "have followed the campaigns for longer", "are newer to the campaigns"),
        history("days_since_last_event", "days from the last event to as_of (recency)",
                "were last seen longer ago", "were seen more recently"),
        history("days_since_last_engagement", "days from the last engagement to as_of",
                "last engaged longer ago", "engaged more recently"),
        history("n_intent_all", "earlier intent events of any type before as_of",
                "had already taken more steps towards moving", "had taken fewer steps towards moving"),
        history("n_job_click_all", "earlier clicks through to job listings",
                "clicked through to job listings more often", "clicked through to job listings less"),
        history("n_guide_download_all", "earlier moving-guide downloads",
                "downloaded moving guides more often", "downloaded fewer moving guides"),
        history("n_inquiry_all", "earlier questions to a newcomer service",
                "asked newcomer services more questions", "asked newcomer services fewer questions"),
        history("n_signup_all", "earlier interest-list or newsletter sign-ups",
                "signed up for interest lists more often", "signed up for interest lists less"),
        history("n_fair_registration_all", "earlier recruitment-fair registrations",
                "registered for recruitment fairs more often", "registered for fewer fairs"),
        history("days_since_last_intent", "days from the last intent event to as_of (empty if none)",
                "took their last step towards moving longer ago",
                "took a step towards moving more recently"),
        history("n_intent_municipalities_all", "distinct municipalities named by earlier intent events",
                "looked into more municipalities", "looked into fewer municipalities"),
    ]


_EVENT_PHRASES = {
    "impression": ("were shown films and images more often", "were shown films and images less"),
    "view": ("viewed more films and images", "viewed fewer films and images"),
    "video_progress": ("watched more film", "watched less film"),
    "click": ("clicked more", "clicked less"),
    "share": ("shared more", "shared less"),
    "reaction": ("reacted more", "reacted less"),
    "comment": ("commented more", "commented less"),
}


def _engagement(windows_days: tuple[int, ...]) -> list[Feature]:
    features = []
    for days in windows_days:
        for event_type in ENGAGEMENT_EVENT_TYPES:
            features.append(Feature(f"n_{event_type}_{days}d",
                                    f"{_EVENT_WORDS[event_type]} in the {days} days before as_of",
                                    "engagement", "event_count", window_days=days,
                                    event_type=event_type,
                                    **_said(*_EVENT_PHRASES[event_type], days)))
        features += [
            Feature(f"n_engagements_{days}d", f"engagements (not impressions) in the {days} days before",
                    "engagement", "engagement_count", window_days=days,
                    **_said("engaged more", "engaged less", days)),
            Feature(f"n_intent_{days}d", f"intent events in the {days} days before as_of",
                    "engagement", "intent_count", window_days=days,
                    **_said("took more steps towards moving", "took fewer steps towards moving",
                            days)),
            Feature(f"active_days_{days}d", f"days with any event in the {days} days before as_of",
                    "engagement", "active_days", window_days=days,
                    **_said("were active on more days", "were active on fewer days", days)),
            Feature(f"watch_seconds_{days}d", f"seconds of film watched in the {days} days before",
                    "engagement", "watch_seconds", window_days=days,
                    **_said("watched films for longer", "watched films for less time", days)),
        ]
    for days in RATE_WINDOWS_DAYS:
        features += [
            Feature(f"engagement_rate_{days}d",
                    f"engagements per impression in the {days} days before (empty without impressions)",
                    "engagement", "engagement_rate", when_absent=None, window_days=days,
                    **_said("engaged with more of what they were shown",
                            "engaged with less of what they were shown", days)),
            Feature(f"click_rate_{days}d",
                    f"clicks per impression or view in the {days} days before",
                    "engagement", "click_rate", when_absent=None, window_days=days,
                    **_said("clicked on more of what they saw", "clicked on less of what they saw",
                            days)),
            Feature(f"view_rate_{days}d",
                    f"views per impression in the {days} days before (empty without impressions)",
                    "engagement", "view_rate", when_absent=None, window_days=days,
                    **_said("opened more of what they were shown",
                            "opened less of what they were shown", days)),
        ]
    # A trend of 1 means no change, what a person without recent activity shows.
    features += [
        Feature("trend_engagements_7d_vs_prior_21d",
                "engagements in the last 7 days against the weekly mean of the 21 days before (+1 smoothed)",
                "engagement", when_absent=1,
                **_said("engaged more this week than in the weeks before",
                        "engaged less this week than in the weeks before")),
        Feature("trend_active_days_7d_vs_prior_21d",
                "active days in the last 7 days against the weekly mean of the 21 days before",
                "engagement", when_absent=1,
                **_said("came back more often this week than in the weeks before",
                        "came back less often this week than in the weeks before")),
    ]
    for days in TREND_WINDOWS_DAYS:
        features += [
            Feature(f"trend_engagements_{days}d_vs_90d",
                    f"engagements in the last {days} days against the 90-day pace (+1 smoothed)",
                    "engagement", "engagement_trend", when_absent=1, window_days=days,
                    **_said(f"engaged more in the last {days} days than over the last 90",
                            f"engaged less in the last {days} days than over the last 90")),
            Feature(f"trend_impressions_{days}d_vs_90d",
                    f"impressions in the last {days} days against the 90-day pace (+1 smoothed)",
                    "engagement", "impression_trend", when_absent=1, window_days=days,
                    **_said(f"were shown more in the last {days} days than over the last 90",
                            f"were shown less in the last {days} days than over the last 90")),
        ]
    features += [
        Feature("n_channels_90d", "distinct channels in the 90 days before as_of",
                "engagement", "channel_count", window_days=90,
                **_said("saw the campaigns on more channels", "saw the campaigns on fewer channels",
                        90)),
    ]
    features += [Feature(f"channel_share_90d__{channel}",
                         f"share of the 90-day events that came through {channel}",
                         "engagement", "channel_share", window_days=90, channel=channel,
                         **_said(f"came through {channel} more often",
                                 f"came through {channel} less often", 90))
                 for channel in CHANNELS]
    features += [Feature(f"device_share_90d__{device}",
                         f"share of the 90-day events on a {device} device",
                         "engagement", "device_share", window_days=90, device=device,
                         **_said(f"used a {device} more often", f"used a {device} less often", 90))
                 for device in DEVICES]
    return features


def _themes(themes: tuple[str, ...]) -> list[Feature]:
    features = [Feature(f"theme_share_90d__{theme}",
                        f"share of the 90-day engagements on content tagged {theme}",
                        "themes", "theme_share", window_days=90, theme=theme,
                        **_said(f"engaged with {_theme_words(theme)} content more",
                                f"engaged with {_theme_words(theme)} content less", 90))
                for theme in themes]
    features += [Feature(f"theme_engagements_30d__{theme}",
                         f"engagements on content tagged {theme} in the 30 days before",
                         "themes", "theme_engagements", window_days=30, theme=theme,
                         **_said(f"engaged with {_theme_words(theme)} content more often",
                                 f"engaged with {_theme_words(theme)} content less often", 30))
                 for theme in themes]
    features += [
        Feature("n_themes_90d", "breadth of interest: themes engaged with in the 90 days before",
                "themes", "theme_count", window_days=90,
                **_said("engaged with more themes", "engaged with fewer themes", 90)),
        Feature("n_themes_30d", "breadth of interest: themes engaged with in the 30 days before",
                "themes", "theme_count", window_days=30,
                **_said("engaged with more themes", "engaged with fewer themes", 30)),
        Feature("completion_ratio_90d", "mean completion ratio of films watched in the 90 days before",
                "themes", when_absent=None,
                **_said("watched films to the end more often", "watched films to the end less often",
                        90)),
        Feature("n_films_completed_90d", "films watched to at least 90 % in the 90 days before",
                "themes", **_said("watched more films to the end", "watched fewer films to the end",
                                  90)),
        Feature("n_municipalities_shown_90d",
                "distinct municipalities shown by the content engaged with in the 90 days before",
                "themes", **_said("saw content about more municipalities",
                                  "saw content about fewer municipalities", 90)),
        Feature("job_share_90d",
                "share of the 90-day engagements on job content (green industry or a *_jobs theme)",
                "themes", "job_share", when_absent=None, window_days=90,
                **_said("engaged with job content more", "engaged with job content less", 90)),
        Feature("job_share_30d", "share of the 30-day engagements on job content",
                "themes", "job_share", when_absent=None, window_days=30,
                **_said("engaged with job content more", "engaged with job content less", 30)),
    ]
    # More engagement with job content is more interest in working here: the score may never
    # fall with it (tests/model/test_model_behaviour.py).
    features += [Feature(f"job_engagements_{days}d",
                         f"engagements on job content in the {days} days before as_of",
                         "themes", "job_engagements", window_days=days, increasing=1,
                         **_said("engaged with job films and images more often",
                                 "engaged with job films and images less often", days))
                 for days in (7, 14, 30, 90)]
    features += [Feature(f"job_view_rate_{days}d",
                         f"views per impression of job content in the {days} days before",
                         "themes", "job_view_rate", when_absent=None, window_days=days,
                         **_said("opened more of the job content they were shown",
                                 "opened less of the job content they were shown", days))
                 for days in (14, 30, 90)]
    features += [Feature(f"job_click_rate_{days}d",
                         f"clicks per impression of job content in the {days} days before",
                         "themes", "job_click_rate", when_absent=None, window_days=days,
                         **_said("clicked on more of the job content they were shown",
                                 "clicked on less of the job content they were shown", days))
                 for days in (30, 90)]
    features += [Feature(f"job_completion_{days}d",
                         f"mean completion ratio of job films watched in the {days} days before",
                         "themes", when_absent=None, window_days=days,
                         **_said("watched job films to the end more often",
                                 "watched job films to the end less often", days))
                 for days in (30, 90)]
    return features


def feature_catalog(windows_days: tuple[int, ...] = WINDOWS_DAYS,
                    themes: tuple[str, ...] = THEMES) -> FeatureCatalog:
    """The feature set over these count windows and themes (the defaults are the models')."""
    return FeatureCatalog(tuple(_history() + _engagement(windows_days) + _themes(themes)))


CATALOG = feature_catalog()
FEATURES: tuple[Feature, ...] = CATALOG.features
FEATURE_NAMES: tuple[str, ...] = CATALOG.names


def feature_list_text() -> str:
    """The feature list as plain text, one `name: description` per line (logged with each run)."""
    lines = [f"# Norrut feature set {FEATURE_SET_VERSION}: {len(FEATURES)} features", ""]
    lines += [f"{feature.name}: {feature.description}" for feature in FEATURES]
    return "\n".join(lines) + "\n"
