"""Experiment configurations: a TOML file validated against a pydantic schema.

An experiment names the grid axes (datasets, strategies, learners, batch sizes, seeds) and the settings every
cell shares (budget, initial set, oracle, test split, ...). Validation errors are translated from pydantic's
wording into one message per problem that names the key path, the value given and what is valid there, so a
typo in a 500-cell grid is caught before anything runs.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from alsim.exceptions import ConfigError, DatasetError

__all__ = [
    "Budget",
    "DatasetEntry",
    "ExperimentConfig",
    "InitialSet",
    "OracleOptions",
    "StreamOptions",
    "check_dataset_sizes",
    "dump_config",
    "load_config",
    "parse_config",
    "read_config_table",
]

#: Largest seed a cell accepts (``random_state`` of :func:`alsim.simulate`; a test checks they agree).
MAX_SEED = 2**32 - 1

_OPENML_SPEC = re.compile(r"^openml:\s*0*(\d+)$")
_TABLE_SUFFIXES = (".csv", ".parquet", ".arff", ".arff.gz")
_LABELED_SUFFIXES = (".csv", ".parquet")


def _choice_error(expected: str) -> PydanticCustomError:
    # The message is the "what is valid" half; _describe_error adds the key path and the value.
    return PydanticCustomError("alsim_choice", "must be {expected}", {"expected": expected})


def _import_search_dirs(base_dir: Path | None) -> list[str]:
    """List where a config's ``imports`` are looked for besides ``sys.path``.

    That is the config's directory and the working directory (the ``alsim`` console script does not put the
    working directory on ``sys.path``).
    """
    dirs = [str(base_dir.resolve())] if base_dir is not None else []
    cwd = str(Path.cwd().resolve())
    return [*dirs, cwd] if cwd not in dirs else dirs


def _import_module(name: str, info: ValidationInfo) -> str:
    # Modules that register user-written strategies (or anything else cells need by name); fields are
    # validated in order, so these are imported before the strategy names are checked. parse_config only
    # gets here with allow_imports=True: importing runs the module's code.
    if name in sys.modules:  # imported before (e.g. by the config being resumed): nothing runs again
        return name
    context = info.context or {}
    # Appended, not prepended: a module of the user's directory must not shadow an installed one. Spawned
    # worker processes inherit sys.path, so the local process pool and a Dask LocalCluster find it too.
    for directory in _import_search_dirs(context.get("base_dir")):
        if directory not in sys.path:
            sys.path.append(directory)
    try:
        importlib.import_module(name)
    except ImportError as exc:
        raise _choice_error(
            "an importable Python module (a .py file or package in the config's directory, the working "
            f"directory, or on sys.path / PYTHONPATH; also for remote workers): {exc}"
        ) from None
    return name


def _check_strategy(name: str, info: ValidationInfo) -> str:
    if (info.data or {}).get("mode") == "stream":
        from alsim.stream import available_stream_strategies, make_stream_strategy

        try:
            make_stream_strategy(name)
        except (ValueError, TypeError) as exc:
            choices = ", ".join(repr(s) for s in available_stream_strategies())
            raise _choice_error(f"a stream strategy name ({choices}) ({exc})") from None
        return name
    from alsim.strategies import available_strategies, make_strategy

    try:
        make_strategy(name)
    except (ValueError, TypeError, KeyError) as exc:
        choices = ", ".join(repr(s) for s in available_strategies())
        raise _choice_error(
            f"a registered strategy name ({choices}) or a composite 'epsilon_<base>' / 'cost_<base>' ({exc})"
        ) from None
    return name


def _check_learner(name: str) -> str:
    from alsim.learners import LEARNER_NAMES

    if name not in LEARNER_NAMES:
        raise _choice_error("one of " + ", ".join(repr(n) for n in LEARNER_NAMES))
    return name


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise _choice_error(f"a list without repeats ({value!r} appears twice)")
        seen.add(value)
    return values


StrategyName = Annotated[str, AfterValidator(_check_strategy)]
LearnerName = Annotated[str, AfterValidator(_check_learner)]


class _Section(BaseModel):
    # allow_inf_nan=False: TOML has inf and nan literals, and no setting of an experiment means either.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class DatasetEntry(_Section):
    """One dataset of the grid: ``openml:<id>`` or a table file (``label`` required for CSV/parquet).

    In TOML a dataset is either a string (``"openml:61"``, ``"data/mine.arff"``) or a table
    ``{spec = "data/mine.csv", label = "target"}``. Relative paths are resolved against the directory of
    the config file, so the stored spec is absolute and a cell's id does not depend on the working directory.
    """

    spec: str = Field(min_length=1)
    label: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"spec": data} if isinstance(data, str) else data

    @field_validator("spec")
    @classmethod
    def _normalise_spec(cls, spec: str, info: ValidationInfo) -> str:
        match = _OPENML_SPEC.match(spec.strip())
        if match:
            return f"openml:{int(match.group(1))}"
        if spec.startswith("openml:"):
            raise _choice_error("'openml:<integer id>' or a path to a CSV, parquet or ARFF file")
        if not spec.lower().endswith(_TABLE_SUFFIXES):
            raise _choice_error("'openml:<integer id>' or a path to a file ending in " + ", ".join(_TABLE_SUFFIXES))
        path = Path(spec).expanduser()
        base_dir = (info.context or {}).get("base_dir")
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        path = path.resolve()
        if not path.is_file():
            raise _choice_error(f"an existing file (looked for {str(path)!r})")
        return str(path)

    @model_validator(mode="after")
    def _label_for_tables(self) -> DatasetEntry:
        if self.spec.lower().endswith(_LABELED_SUFFIXES) and self.label is None:
            # pydantic fills in "{name}" only (no format specs, no escaped braces): the TOML braces stay as written.
            raise PydanticCustomError(
                "alsim_missing_label",
                'must name the label column of a CSV or parquet file: write {spec = {path}, label = "<column>"}',
                {"path": repr(self.spec)},
            )
        return self

    @model_serializer
    def _to_toml_value(self) -> str | dict[str, str]:
        return self.spec if self.label is None else {"spec": self.spec, "label": self.label}


class Budget(_Section):
    """When each simulation stops: after ``labels`` labels and/or ``cost`` spent (none: pool exhausted)."""

    labels: int | None = Field(default=None, ge=1)
    cost: float | None = Field(default=None, gt=0)


class InitialSet(_Section):
    """How the initial labeled set is drawn: ``method`` and ``size`` (None: the engine's default size)."""

    method: Literal["random", "kmeans_pp", "k_center", "per_class"] = "random"
    size: int | None = Field(default=None, ge=1)


class OracleOptions(_Section):
    """Parameters of :class:`alsim.oracle.SimulatedOracle` shared by every cell."""

    noise_rate: float = Field(default=0.0, ge=0.0, lt=1.0)
    confusion: list[list[float]] | None = None
    cost: float | Literal["difficulty"] | dict[str, float] = 1.0
    n_annotators: int = Field(default=1, ge=1)
    annotator_cost_factor: float = Field(default=1.0, gt=0.0)

    @field_validator("cost", mode="wrap")
    @classmethod
    def _check_cost(cls, value: Any, handler: Any) -> Any:
        # A union's default error lists one failure per member; one sentence is more useful.
        expected = "a positive finite number, 'difficulty' or a table of per-class positive finite costs"
        try:
            cost = handler(value)
        except ValidationError:
            raise _choice_error(expected) from None
        costs = cost.values() if isinstance(cost, dict) else [] if isinstance(cost, str) else [cost]
        if any(c <= 0 for c in costs) or (isinstance(cost, dict) and not cost):
            raise _choice_error(expected)
        return cost


class StreamOptions(_Section):
    """Settings of stream cells (``mode = "stream"``), passed to :func:`alsim.stream.simulate_stream`."""

    order: Literal["shuffle", "abrupt_class", "gradual_class", "abrupt_feature", "gradual_feature"] = "shuffle"
    budget_fraction: float = Field(default=0.1, gt=0.0, le=1.0)
    update: Literal["partial_fit"] | Annotated[int, Field(ge=1)] = "partial_fit"
    drift_detector: Literal["adwin", "page_hinkley"] | None = None
    block_size: int = Field(default=100, ge=1)


class ExperimentConfig(_Section):
    """A validated experiment: grid axes plus the settings all cells share.

    Build it with :func:`load_config` (from a TOML file) or :func:`parse_config` (from a mapping).
    ``imports`` names Python modules to import before validating and in every worker before running a
    cell: that is how a user-written strategy registered with ``@register_strategy("name")`` in
    ``mylab/strategies.py`` is used by name in a grid (``imports = ["mylab.strategies"]``). Importing runs
    the module's code, so a config with ``imports`` is only accepted with ``allow_imports=True``
    (``alsim run --allow-imports``); modules are looked for in the config's directory, the working
    directory and ``sys.path``. Reading results (reports, stopping rules, backtests) never imports them.
    The grid is the cartesian product datasets x strategies x learners x batch_sizes x seeds; see
    :func:`alsim.experiments.expand_cells`.

    Examples
    --------
    >>> from alsim.experiments import parse_config
    >>> config = parse_config({"name": "demo", "datasets": ["openml:61"], "strategies": ["random"],
    ...                        "n_seeds": 3, "budget": {"labels": 40}})
    >>> config.seed_values()
    [0, 1, 2]
    """

    name: str = Field(min_length=1)
    description: str = ""
    imports: list[Annotated[str, AfterValidator(_import_module)]] = []
    datasets: Annotated[list[DatasetEntry], AfterValidator(_unique)] = Field(min_length=1)
    # Before 'strategies': the strategy names are checked against the pool or the stream registry.
    mode: Literal["pool", "stream"] = "pool"
    strategies: Annotated[list[StrategyName], AfterValidator(_unique)] = Field(min_length=1)
    learners: Annotated[list[LearnerName], AfterValidator(_unique)] = Field(default=["logreg"], min_length=1)
    batch_sizes: Annotated[list[Annotated[int, Field(ge=1)]], AfterValidator(_unique)] = Field(
        default=[10], min_length=1
    )
    # A run's seed seeds numpy's SeedSequence and scikit-learn, which take 32-bit seeds.
    seeds: Annotated[list[Annotated[int, Field(ge=0, le=MAX_SEED)]], AfterValidator(_unique)] | None = Field(
        default=None, min_length=1
    )
    n_seeds: int | None = Field(default=None, ge=1, le=MAX_SEED + 1)
    strategy_params: dict[str, dict[str, int | float | str | bool]] = {}
    budget: Budget = Budget()
    initial: InitialSet = InitialSet()
    oracle: OracleOptions = OracleOptions()
    test_size: float = Field(default=0.3, gt=0.0, lt=1.0)
    record_cv: bool = False
    committee_size: int = Field(default=5, ge=2)
    stop_set_size: int | None = Field(default=None, ge=1)
    stream: StreamOptions = StreamOptions()

    @model_validator(mode="after")
    def _settings_of_the_mode(self) -> ExperimentConfig:
        fields = type(self).model_fields
        pool_only = [
            key
            for key in ("batch_sizes", "budget", "initial", "record_cv", "committee_size")
            if getattr(self, key) != fields[key].get_default(call_default_factory=True)
        ]
        if self.mode == "stream" and pool_only:
            raise PydanticCustomError(
                "alsim_mode",
                "{keys} apply to mode = 'pool' only; a stream run is set up in the [stream] table",
                {"keys": ", ".join(repr(k) for k in pool_only)},
            )
        if self.mode == "pool" and self.stream != StreamOptions():
            raise PydanticCustomError("alsim_mode", "the [stream] table needs mode = 'stream'")
        if self.mode == "stream" and self.stream.update == "partial_fit":
            from alsim.learners import make_learner

            without = [name for name in self.learners if not hasattr(make_learner(name), "partial_fit")]
            if without:
                raise PydanticCustomError(
                    "alsim_mode",
                    "learners {names} have no partial_fit: use learners with it (e.g. 'gaussian_nb') or set "
                    "stream.update to N (retrain every N labels)",
                    {"names": ", ".join(repr(n) for n in without)},
                )
        return self

    @model_validator(mode="after")
    def _budget_covers_initial_set(self) -> ExperimentConfig:
        labels, size = self.budget.labels, self.initial.size
        if labels is not None and size is not None and labels < size:
            raise PydanticCustomError(
                "alsim_budget",
                "budget.labels = {labels} is smaller than initial.size = {size}, which the budget includes; "
                "raise budget.labels or lower initial.size",
                {"labels": labels, "size": size},
            )
        return self

    @model_validator(mode="after")
    def _one_way_to_give_seeds(self) -> ExperimentConfig:
        if (self.seeds is None) == (self.n_seeds is None):
            raise PydanticCustomError(
                "alsim_seeds",
                "give exactly one of 'seeds' (a list of ints) or 'n_seeds' (a count: seeds 0..n-1)",
            )
        return self

    @model_validator(mode="after")
    def _params_of_listed_strategies(self) -> ExperimentConfig:
        from alsim.strategies import make_strategy
        from alsim.stream import make_stream_strategy

        for name, params in self.strategy_params.items():
            if name not in self.strategies:
                raise PydanticCustomError(
                    "alsim_strategy_params",
                    "'strategy_params' has parameters for '{name}', which is not in 'strategies' ({listed})",
                    {"name": name, "listed": ", ".join(self.strategies)},
                )
            try:
                (make_stream_strategy if self.mode == "stream" else make_strategy)(name, **params)
            except (ValueError, TypeError) as exc:
                raise PydanticCustomError(
                    "alsim_strategy_params",
                    "'strategy_params.{name}' = {params} is not accepted by the strategy: {reason}",
                    {"name": name, "params": params, "reason": str(exc)},
                ) from None
        return self

    def seed_values(self) -> list[int]:
        """Return the seeds of the grid (``seeds`` as given, or ``0 .. n_seeds-1``)."""
        return list(self.seeds) if self.seeds is not None else list(range(self.n_seeds or 0))

    @property
    def n_cells(self) -> int:
        """Number of cells in the grid."""
        batch_sizes = 1 if self.mode == "stream" else len(self.batch_sizes)
        return len(self.datasets) * len(self.strategies) * len(self.learners) * batch_sizes * len(self.seed_values())


def _format_loc(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """Return the schema section a key path points into (to list the keys valid there)."""
    model: type[BaseModel] = ExperimentConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


_EXPECTATIONS = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number (not inf or nan)",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
}


def _describe_error(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = _format_loc(loc)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        section = _model_at(loc[:-1])
        valid = ", ".join(section.model_fields) if section is not None else "?"
        return f"Unknown key {key!r} (value {value!r}). Valid keys there: {valid}."
    if kind == "missing":
        return f"The required key {key!r} is missing."
    if kind == "literal_error":
        expected = f"must be one of {ctx['expected']}"
    elif kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        op, bound = {
            "greater_than": (">", ctx.get("gt")),
            "greater_than_equal": (">=", ctx.get("ge")),
            "less_than": ("<", ctx.get("lt")),
            "less_than_equal": ("<=", ctx.get("le")),
        }[kind]
        expected = f"must be {op} {bound}"
    elif kind == "too_short":
        expected = f"must have at least {ctx.get('min_length')} item(s)"
    elif kind in _EXPECTATIONS:
        expected = _EXPECTATIONS[kind]
    else:
        expected = str(error["msg"])
    if not loc:
        return f"The experiment config: {expected}."
    if isinstance(value, Mapping):
        return f"The {key!r} key {expected}."
    return f"The {key!r} key {expected}. Got {value!r} instead."


def _check_imports_allowed(data: Mapping[str, Any], allow_imports: bool, source: str) -> None:
    """Refuse, in one line, a config that would import code unless the caller chose to allow it."""
    imports = data.get("imports")
    if not imports or allow_imports:
        return
    names = ", ".join(repr(str(name)) for name in imports) if isinstance(imports, list) else repr(imports)
    raise ConfigError(
        f"The {source} imports Python code (imports = [{names}]), which runs when the config is loaded: "
        "pass --allow-imports (alsim run) or allow_imports=True (Python) if you trust that code."
    )


def parse_config(
    data: Mapping[str, Any],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    source: str = "experiment config",
    allow_imports: bool = False,
) -> ExperimentConfig:
    """Validate a mapping (a parsed TOML document) into an :class:`ExperimentConfig`.

    Parameters
    ----------
    data : mapping
        The configuration, as ``tomllib.load`` returns it.
    base_dir : path, optional
        Directory that relative dataset paths are resolved against, and where the modules of ``imports``
        are looked for besides the working directory and ``sys.path`` (default: the working directory).
    source : str, default="experiment config"
        How to name the configuration in error messages (e.g. its file path).
    allow_imports : bool, default=False
        Import the modules named in ``imports`` (running their code). False refuses a config that has
        ``imports`` with a :class:`ConfigError`: a config received from someone else must not run code
        unless you say so.

    Returns
    -------
    ExperimentConfig

    Raises
    ------
    ConfigError
        Listing every problem: key path, value given, and what is valid.

    Examples
    --------
    >>> from alsim.experiments import parse_config
    >>> parse_config({"name": "x", "datasets": ["openml:61"], "strategies": ["random"], "seeds": [0],
    ...               "batch_size": 5})
    Traceback (most recent call last):
    ...
    alsim.exceptions.ConfigError: Invalid experiment config:
      - Unknown key 'batch_size' (value 5). Valid keys there: name, description, imports, datasets, ...
    """
    _check_imports_allowed(data, allow_imports, source)
    context = {"base_dir": Path(base_dir) if base_dir is not None else Path.cwd()}
    try:
        return ExperimentConfig.model_validate(dict(data), context=context)
    except ValidationError as exc:
        problems = "\n".join(f"  - {_describe_error(error)}" for error in exc.errors())
        raise ConfigError(f"Invalid {source}:\n{problems}") from None


def read_config_table(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the TOML table of an experiment file, parsed but not validated (so nothing is imported).

    For readers of a results directory (``DIR/experiment.toml``): its name and grid axes, without running
    the code its ``imports`` name, which validation would need to check strategy names.

    Raises
    ------
    ConfigError
        If the file is missing or is not valid TOML.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"The experiment config {str(path)!r} is a directory; give a TOML file (see experiments/).")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"The experiment config {str(path)!r} does not exist.") from None
    except OSError as exc:
        raise ConfigError(f"The experiment config {str(path)!r} cannot be read: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"The experiment config {str(path)!r} is not a text file (not UTF-8); give a TOML file."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The experiment config {str(path)!r} is not valid TOML: {exc}.") from None


def load_config(path: str | os.PathLike[str], *, allow_imports: bool = False) -> ExperimentConfig:
    """Read and validate an experiment TOML file.

    Parameters
    ----------
    path : path
        The TOML file. Relative dataset paths inside it are resolved against its directory, and the
        modules of its ``imports`` are looked for there too.
    allow_imports : bool, default=False
        Import the modules the config names in ``imports`` (this runs their code); see :func:`parse_config`.

    Returns
    -------
    ExperimentConfig

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, has ``imports`` without ``allow_imports=True``, or fails
        validation.

    Examples
    --------
    >>> from alsim.experiments import load_config
    >>> config = load_config("experiments/quickstart.toml")  # doctest: +SKIP
    >>> config.n_cells  # doctest: +SKIP
    250
    """
    data = read_config_table(path)
    path = Path(path)
    return parse_config(
        data, base_dir=path.resolve().parent, source=f"experiment config {str(path)!r}", allow_imports=allow_imports
    )


def _dataset_size(entry: DatasetEntry) -> tuple[int, int]:
    """Return the labelled rows and classes of a grid dataset.

    From the manifest for bundled OpenML copies (no parsing), else by loading it (a team's file, or an OpenML
    dataset through the client and its cache).
    """
    from alsim.datasets import load_dataset
    from alsim.datasets._bundled import MANIFEST

    match = _OPENML_SPEC.match(entry.spec)
    if match and int(match.group(1)) in MANIFEST and entry.label is None:
        bundled = MANIFEST[int(match.group(1))]
        return bundled.instances, bundled.classes
    dataset = load_dataset(entry.spec, label=entry.label)
    return dataset.n_samples, len(set(dataset.target))


def check_dataset_sizes(config: ExperimentConfig) -> list[str]:
    """Check the sizes a config asks for against the pool of every dataset it names, before anything runs.

    The pool is what the stratified split leaves for labelling: ``n - ceil(test_size * n)`` rows.
    ``stop_set_size``, ``initial.size`` and ``batch_sizes`` larger than a pool (or an initial set smaller
    than the classes with ``initial.method = "per_class"``, or a label budget below the initial set) would
    make every cell of that dataset fail; they raise. A dataset that cannot be loaded is skipped here: its
    cells fail with the loader's message while the rest of the grid runs. A label budget larger than a pool
    is legitimate (the runs stop when the pool is exhausted) but worth knowing: it is returned as a warning.

    Parameters
    ----------
    config : ExperimentConfig

    Returns
    -------
    list of str
        Warnings, one per dataset whose pool is smaller than ``budget.labels``.

    Raises
    ------
    ConfigError
        Listing every setting that does not fit a named dataset.

    Examples
    --------
    >>> from alsim.experiments import check_dataset_sizes, parse_config
    >>> config = parse_config({"name": "x", "datasets": ["openml:61"], "strategies": ["random"],
    ...                        "seeds": [0], "stop_set_size": 500})
    >>> check_dataset_sizes(config)
    Traceback (most recent call last):
    ...
    alsim.exceptions.ConfigError: The experiment 'x' does not fit its datasets:
      - 'stop_set_size' = 500 is larger than the pool of 'openml:61' (105 of 150 rows after the 30% test split); ...
    """
    problems: list[str] = []
    warnings_found: list[str] = []
    for entry in config.datasets:
        try:
            n_rows, n_classes = _dataset_size(entry)
        except DatasetError:
            continue  # an unreadable dataset fails its own cells with its own message; the others still run
        pool = n_rows - math.ceil(config.test_size * n_rows)
        where = f"the pool of {entry.spec!r} ({pool} of {n_rows} rows after the {config.test_size:.0%} test split)"
        fix = "lower it or drop the dataset"
        if config.stop_set_size is not None and config.stop_set_size > pool:
            problems.append(f"'stop_set_size' = {config.stop_set_size} is larger than {where}; {fix}")
        if config.mode == "stream":
            continue
        if config.initial.size is not None and config.initial.size > pool:
            problems.append(f"'initial.size' = {config.initial.size} is larger than {where}; {fix}")
        if (
            config.initial.method == "per_class"
            and config.initial.size is not None
            and (config.initial.size < n_classes)
        ):
            problems.append(
                f"'initial.size' = {config.initial.size} is smaller than the {n_classes} classes of {entry.spec!r}, "
                "and initial.method = 'per_class' takes at least one of each; raise it"
            )
        too_large = [size for size in config.batch_sizes if size > pool]
        if too_large:
            problems.append(f"'batch_sizes' {too_large} are larger than {where}; {fix}")
        labels = config.budget.labels
        if labels is not None:
            initial = config.initial.size
            if initial is None:  # the engine's default initial set, see alsim.simulate
                initial = min(pool, max(min(config.batch_sizes), n_classes))
            if labels < initial:
                problems.append(
                    f"'budget.labels' = {labels} is smaller than the initial set on {entry.spec!r} ({initial} "
                    "labels: the batch size or the number of classes); raise it or set initial.size"
                )
            elif labels > pool:
                warnings_found.append(
                    f"'budget.labels' = {labels} is larger than {where}: its runs stop when the pool is exhausted"
                )
    if problems:
        listed = "\n".join(f"  - {problem}." for problem in problems)
        raise ConfigError(f"The experiment {config.name!r} does not fit its datasets:\n{listed}")
    return warnings_found


def dump_config(config: ExperimentConfig) -> str:
    """Return the configuration as TOML text, with defaults filled in and dataset paths absolute.

    ``load_config`` of this text gives back an equal configuration, wherever the file is stored.

    Examples
    --------
    >>> from alsim.experiments import dump_config, parse_config
    >>> text = dump_config(parse_config({"name": "x", "datasets": ["openml:61"], "strategies": ["random"],
    ...                                  "seeds": [0]}))
    >>> text.splitlines()[0]
    'name = "x"'
    """
    return tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))
