"""Migration head test: 0001 applied from empty gives exactly the tables the models describe."""
from servicekit.migrate import diff_against_models

from intake.models import metadata


def test_migrations_apply_from_empty_and_match_the_models(db, settings):
    assert diff_against_models(settings.kit.database_url, metadata) == []
