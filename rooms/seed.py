"""Reference themes (docs/api.md §6). Idempotent: `update_or_create` by slug.

Media are public files on Wikimedia Commons addressed through `Special:FilePath`, which keeps
the URL stable when Commons moves the file; content editors replace them in the Django admin.
Counters (sessions, ratings) are never touched by the seed.
"""

from typing import Any

from django.core.management.base import OutputWrapper

from rooms.models import Theme, ThemeTier

COMMONS = "https://commons.wikimedia.org/wiki/Special:FilePath/"


def _media(title: str, file_name: str, duration_seconds: int) -> dict[str, Any]:
    return {"title": title, "url": f"{COMMONS}{file_name}", "durationSeconds": duration_seconds}


def _thumbnail(file_name: str) -> str:
    return f"{COMMONS}{file_name}?width=640"


THEMES = [
    {
        "slug": "boat-ocean",
        "title": "Boat Near Ocean",
        "description": "Drift in a wooden boat moored off a quiet shore while the tide rocks you gently.",
        "category": "ocean",
        "tier": ThemeTier.FREE,
        "icon": "⛵",
        "thumbnail_url": _thumbnail("Boat_on_the_beach_at_sunset.jpg"),
        "videos": [_media("Boat at anchor", "Boat_anchored_in_calm_sea.webm", 600)],
        "audio_tracks": [_media("Lapping water", "Waves_lapping_against_a_boat.ogg", 600)],
        "benefits": ["Slows the breath", "Eases racing thoughts", "Good before sleep"],
        "instructions": "Sit or lie back, let your breath match the rocking of the boat, and count ten slow waves.",
        "duration_seconds": 600,
        "display_order": 10,
    },
    {
        "slug": "green-tea",
        "title": "Green Tea Plantation",
        "description": "Walk the misty terraces of a hill-country tea estate at dawn.",
        "category": "nature",
        "tier": ThemeTier.PREMIER,
        "icon": "🍵",
        "thumbnail_url": _thumbnail("Tea_plantation_in_Munnar,_Kerala.jpg"),
        "videos": [_media("Morning on the tea terraces", "Tea_plantation_Munnar_morning.webm", 720)],
        "audio_tracks": [_media("Birdsong over the estate", "Birdsong_in_the_morning.ogg", 720)],
        "benefits": ["Grounding", "Gentle focus", "Lifts low mood"],
        "instructions": "Imagine the scent of fresh leaves; with each step, name one thing you can see and hear.",
        "duration_seconds": 720,
        "display_order": 20,
    },
    {
        "slug": "butterfly",
        "title": "Butterfly Meadow",
        "description": "A sunlit wildflower meadow full of butterflies, for light-hearted calm.",
        "category": "nature",
        "tier": ThemeTier.PREMIER,
        "icon": "🦋",
        "thumbnail_url": _thumbnail("Butterfly_on_wildflowers_in_a_meadow.jpg"),
        "videos": [_media("Butterflies among the flowers", "Butterflies_in_a_flower_meadow.webm", 600)],
        "audio_tracks": [_media("Summer meadow", "Summer_meadow_ambience.ogg", 600)],
        "benefits": ["Playful attention", "Reduces worry", "Suitable for children"],
        "instructions": "Follow one butterfly with your eyes; when your mind wanders, pick another and begin again.",
        "duration_seconds": 600,
        "display_order": 30,
    },
    {
        "slug": "ocean-waves",
        "title": "Ocean Waves",
        "description": "Rolling waves on an open beach: the classic sound of calm.",
        "category": "ocean",
        "tier": ThemeTier.FREE,
        "icon": "🌊",
        "thumbnail_url": _thumbnail("Ocean_waves_breaking_on_the_beach.jpg"),
        "videos": [_media("Waves on the shore", "Ocean_waves_breaking_on_a_sandy_beach.webm", 900)],
        "audio_tracks": [_media("Surf", "Ocean_waves_sound.ogg", 900)],
        "benefits": ["Box breathing rhythm", "Masks distracting noise", "Helps with insomnia"],
        "instructions": "Breathe in as a wave rises, hold as it breaks, breathe out as it withdraws.",
        "duration_seconds": 900,
        "display_order": 40,
    },
    {
        "slug": "sakura",
        "title": "Sakura Garden",
        "description": "Cherry blossoms drifting over a still Japanese garden pond.",
        "category": "garden",
        "tier": ThemeTier.PREMIER,
        "icon": "🌸",
        "thumbnail_url": _thumbnail("Cherry_blossoms_in_a_Japanese_garden.jpg"),
        "videos": [_media("Falling petals", "Cherry_blossom_petals_falling.webm", 600)],
        "audio_tracks": [_media("Garden stream and wind chimes", "Japanese_garden_stream.ogg", 600)],
        "benefits": ["Letting go", "Acceptance practice", "Soft focus"],
        "instructions": "Watch a single petal fall; as it lands, let go of one thought and return to your breath.",
        "duration_seconds": 600,
        "display_order": 50,
    },
    {
        "slug": "forest",
        "title": "Enchanted Forest",
        "description": "Old-growth forest with dappled light, moss and a distant stream.",
        "category": "forest",
        "tier": ThemeTier.PLUS,
        "icon": "🌲",
        "thumbnail_url": _thumbnail("Sunlight_through_the_trees_of_an_old_forest.jpg"),
        "videos": [_media("Light through the canopy", "Sunbeams_in_a_forest.webm", 1200)],
        "audio_tracks": [_media("Forest stream", "Forest_stream_and_birds.ogg", 1200)],
        "benefits": ["Forest bathing (shinrin-yoku)", "Lowers stress", "Restores attention"],
        "instructions": "Scan your body from head to toe as the light moves; relax each place you notice.",
        "duration_seconds": 1200,
        "display_order": 60,
    },
    {
        "slug": "himalaya",
        "title": "Himalayan Sunrise",
        "description": "First light on snow peaks seen from a quiet Himalayan ridge.",
        "category": "mountain",
        "tier": ThemeTier.PLUS,
        "icon": "🏔️",
        "thumbnail_url": _thumbnail("Sunrise_over_the_Himalayas.jpg"),
        "videos": [_media("Sunrise over the peaks", "Himalayan_sunrise_timelapse.webm", 900)],
        "audio_tracks": [_media("Mountain wind and singing bowl", "Tibetan_singing_bowl.ogg", 900)],
        "benefits": ["Energising morning practice", "Perspective", "Steady breath"],
        "instructions": "Sit tall like the mountain; breathe in the cold light, breathe out warmth, for twelve rounds.",
        "duration_seconds": 900,
        "display_order": 70,
    },
    {
        "slug": "calm-lake",
        "title": "Calm Lake View",
        "description": "A mirror-still lake ringed by hills, for stillness and reflection.",
        "category": "lake",
        "tier": ThemeTier.FREE,
        "icon": "🏞️",
        "thumbnail_url": _thumbnail("Calm_lake_reflection_at_dawn.jpg"),
        "videos": [_media("Reflections on the lake", "Calm_lake_with_mountain_reflection.webm", 600)],
        "audio_tracks": [_media("Lakeside", "Lake_shore_ambience.ogg", 600)],
        "benefits": ["Stillness", "Self-reflection", "Quietens the mind"],
        "instructions": "Let your thoughts settle like ripples on the water; notice them, and let the surface still.",
        "duration_seconds": 600,
        "display_order": 80,
    },
    {
        "slug": "real-room-ar",
        "title": "Real Room AR",
        "description": "Bring calm into your own room: a guided augmented-reality space over your camera view.",
        "category": "ar",
        "tier": ThemeTier.PLUS,
        "icon": "🪄",
        "thumbnail_url": _thumbnail("Meditation_room_with_candles.jpg"),
        "videos": [],
        "audio_tracks": [_media("Guided breathing", "Tibetan_singing_bowl.ogg", 600)],
        "benefits": ["Practice where you live", "Builds a daily habit"],
        "instructions": "Allow camera access, point at a clear spot in your room and follow the breathing cues.",
        "duration_seconds": 600,
        "is_real_ar": True,
        "display_order": 90,
    },
]


def run(*, stdout: OutputWrapper, demo_accounts: bool) -> None:
    created_count = 0
    for spec in THEMES:
        values = {"is_real_ar": False, **{k: v for k, v in spec.items() if k != "slug"}}
        # `is_active` only on creation: re-seeding never re-publishes a theme an editor switched off.
        _, created = Theme.objects.update_or_create(
            slug=spec["slug"], defaults=values, create_defaults={**values, "is_active": True}
        )
        created_count += int(created)
    stdout.write(f"rooms: {len(THEMES)} themes ({created_count} new)")
