"""Analysis tests reuse the project-database fixtures (two small real videos and a project) and
the indexed synthetic project of the learning tests."""
from tests.data.conftest import project, videos  # noqa: F401
from tests.learn.conftest import synthetic_project, synthetic_template  # noqa: F401
