"""The interface shared by the dataflow engines: their signature and the figures the top plans with.

docs/ENGINE.md has the timing of each member. :class:`Engine` is the base of ``OSEngine``
(``hw/engine_os.py``) and ``WSEngine`` (``hw/engine_ws.py``): QmacTop reads only what is declared
here (``sequential_reads``, ``reads_ahead``, ``back_lag``, ``stream_start_penalty``,
``job_cycles``, ``latencies``), never an attribute one engine happens to have.
"""

from __future__ import annotations

from amaranth.hdl import Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.config import ArrayConfig
from hw.dsp import check_enable

__all__ = ["Engine", "engine_signature", "job_members", "JOB_FIELDS"]

#: The job fields an engine (and its fold sequencer) takes with ``start``.
JOB_FIELDS = ("m", "k", "n", "x_zp", "bank")


def job_members(config: ArrayConfig) -> dict:
    """``start``, ``idle`` and the ``job_*`` inputs of an engine or a fold sequencer."""
    dim = config.dim_bits
    return {
        "start": In(1),
        "idle": Out(1),
        "job_m": In(dim),
        "job_k": In(dim),
        "job_n": In(dim),
        "job_x_zp": In(signed(config.a_bits)),
        "job_bank": In(1),
    }


def engine_signature(config: ArrayConfig) -> wiring.Signature:
    """Ports of an ``OSEngine`` / ``WSEngine`` for ``config`` (directions as seen by the engine)."""
    return wiring.Signature({
        **job_members(config),
        "a_addr": Out(range(2 * config.a_buf_depth)),
        "a_en": Out(1),
        "a_data": In(config.rows * config.a_bits),
        "w_addr": Out(range(2 * config.w_buf_depth)),
        "w_en": Out(1),
        "w_data": In(config.cols * config.w_bits),
        "released": Out(1),
        "res_valid": Out(1),
        "res_acc": Out(data.ArrayLayout(signed(config.acc_bits), config.cols)),
        "res_nb": Out(config.dim_bits),
        "res_bank": Out(1),
        "res_last": Out(1),
        "res_lanes": Out(config.cols),
    })


class Engine(wiring.Component):
    """Base of the dataflow engines: the config check, :func:`engine_signature`, and the figures.

    Parameters
    ----------
    config : ArrayConfig
    en : Value, optional
        The engine's stall enable. With ``back_lag == 0`` it is handed to the mesh for the
        registers an ``EnableInserter`` does not reach (the DSP blocks of the ECP5 target), and
        the engine's own logic is stalled by the ``EnableInserter`` its parent puts around it.
        With ``back_lag > 0`` the engine applies it to all its registers itself (default: never
        stalled).

    Members
    -------
    See docs/ENGINE.md (``engine_signature(config)``).

    Raises
    ------
    TypeError
        If ``config`` is not an ArrayConfig.
    ValueError
        If the engine cannot serve ``config`` (:meth:`_check_config`).
    """

    #: Within a job, each buffer read index is at most the previous one + 1 (it may jump back).
    #: QmacTop relies on it to register its "word already loaded" check a cycle ahead.
    sequential_reads: bool = False
    #: The engine has ``a_en_next``/``w_en_next`` and ``a_addr_next``/``w_addr_next``: its read
    #: enables and addresses of the next cycle if this one is enabled. QmacTop then registers its
    #: stall decision a cycle ahead (no same-cycle path from the engine's state to the enables of
    #: its registers), and its "word loaded" comparisons a cycle before that.
    reads_ahead: bool = False
    #: Cycles by which the engine's result side follows its enable: its ``res_*`` rows are taken
    #: on the cycles ``en`` was high ``back_lag`` cycles earlier. An engine with a lag applies
    #: ``en`` itself (its parent passes ``en`` and puts no ``EnableInserter`` around it) and needs
    #: the output path to take a row on each of those cycles (QmacTop: ``run`` guaranteed for
    #: ``back_lag`` cycles more, ``OutPath.run2_next``). 0: the parent stalls the engine with an
    #: ``EnableInserter(en)`` and takes rows on the ``en`` cycles themselves.
    back_lag: int = 0

    def __init__(self, config: ArrayConfig, *, en: Value | None = None) -> None:
        self._MustUse__silence = True  # a rejected instance is not an unused design
        if not isinstance(config, ArrayConfig):
            raise TypeError(f"config must be an ArrayConfig, not {config!r}")
        self._check_config(config)
        self._en = check_enable(en)
        self._MustUse__silence = False
        self._config = config
        signature = engine_signature(config)
        plan = self.job_plan_fields
        if plan:
            layout = data.StructLayout({name: shape for name, (shape, _) in plan.items()})
            signature = wiring.Signature({**signature.members, "job_plan": In(layout)})
        if self.reads_ahead:
            signature = wiring.Signature({
                **signature.members, "a_en_next": Out(1), "w_en_next": Out(1),
                "a_addr_next": Out(range(2 * config.a_buf_depth)),
                "w_addr_next": Out(range(2 * config.w_buf_depth)),
            })
        super().__init__(signature)

    @property
    def job_plan_fields(self) -> dict:
        """Values the engine takes with a job on ``job_plan``, ``{name: (shape, function)}``.

        Each ``function`` maps a job's command fields (a mapping with ``m``, ``k``, ``n``
        Values) to the field's Value. A parent computes them when it takes the command (so that
        no arithmetic on the job's fields lies between the job slots and the engine's registers)
        and offers them with the job. Default: none, and no ``job_plan`` member.
        """
        return {}

    def plan_values(self, fields) -> dict:
        """``job_plan``'s values for the command ``fields`` (``m``, ``k``, ``n``), by name."""
        return {name: function(fields) for name, (_, function) in self.job_plan_fields.items()}

    def _check_config(self, config: ArrayConfig) -> None:
        """Raise ValueError if this engine cannot serve ``config`` (default: any config)."""

    @property
    def config(self) -> ArrayConfig:
        return self._config

    @property
    def stream_start_penalty(self) -> int:
        """Extra cycles of a job started while its a/w words are still arriving (default 0)."""
        return 0

    @property
    def result_latency(self) -> int:
        """Cycles from reading the last word a result row depends on to that row on ``res_*``."""
        raise NotImplementedError

    def fold_period(self, m: int, k: int) -> int:
        """Cycles between the starts of consecutive folds of a job with these M and K."""
        raise NotImplementedError

    def job_cycles(self, m: int, k: int, n: int) -> int:
        """Enabled cycles from ``start`` to the last result row of a lone job, both included."""
        raise NotImplementedError

    @property
    def latencies(self) -> dict[str, int]:
        """The engine's named pipeline figures in cycles (for the manifest and C header)."""
        raise NotImplementedError

    def _connect_job(self, m, seq) -> None:
        """Pass ``start`` and the ``job_*`` inputs to the fold sequencer ``seq``; its ``idle``,
        ``released`` and read ports are the engine's."""
        m.d.comb += [getattr(seq, f"job_{f}").eq(getattr(self, f"job_{f}")) for f in JOB_FIELDS]
        if self.job_plan_fields:
            m.d.comb += seq.job_plan.eq(self.job_plan)
        m.d.comb += [
            seq.start.eq(self.start),
            self.idle.eq(seq.idle),
            self.released.eq(seq.released),
            self.a_addr.eq(seq.a_addr),
            self.w_addr.eq(seq.w_addr),
        ]
