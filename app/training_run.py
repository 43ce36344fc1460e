"""One fine-tuning run as the Fine-tune dialog drives it, without Qt: its phases (prepare a photo folder, then
train), the trainer's output turned into events and log lines, and what each exit of the trainer means.

The Qt side (app/ui/training_process.py) only starts processes and passes their bytes here; the view
(app/ui/finetune.py) draws :attr:`TrainingRun.state`. Keeping the decisions here makes them testable without a
process or a window.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .training import RunState, TrainRequest, can_prepare, describe_event, is_progress_bar

LOGGED_EVENTS = ("start", "checkpoint", "finished", "cancelled", "error", "export")  # a log line each


class Phase(str, Enum):
    """Which process the run has (had) going. A str, so that it compares equal to its value."""

    IDLE = "idle"
    PREPARE = "prepare"  # `prepare`: a photo folder becomes a dataset
    TRAIN = "train"

    def __str__(self) -> str:
        return self.value


@dataclass
class Launch:
    """A process to start: its phase and its command-line arguments (after the program)."""

    phase: Phase
    args: list[str]


@dataclass
class ExitOutcome:
    """What the end of a trainer process means."""

    launch: Launch | None = None  # the next phase to start (training after a successful preparation)
    log: list[str] = field(default_factory=list)  # lines for the log
    failure: str = ""  # the run failed for a reason the app found (exit code): report it
    trainer_error: str = ""  # the trainer reported an error event: report its message
    finished: str = ""  # the run finished with new weights: this message, and the model list is refreshed


def check_request(req: TrainRequest) -> str:
    """Why a request cannot start ("" when it can)."""
    if not str(req.source) or not req.source.exists():
        return f"choose the training folder (not found: {req.source})"
    if not req.prepared and not can_prepare():
        return ("preparing a photo folder needs the 'prepare' command, which this installation lacks; "
                "choose a prepared dataset or an aligned folder with landmarks68.csv")
    return ""


class TrainingRun:
    """The state of the dialog's current run: request, phase, parsed events, and whether a cancel was asked."""

    def __init__(self) -> None:
        self.request: TrainRequest | None = None
        self.state = RunState()
        self.phase = Phase.IDLE
        self.cancelling = False
        self._stdout = b""

    # ----- starting ---------------------------------------------------------------------------------------------
    def begin(self, request: TrainRequest) -> Launch:
        """A new run: fresh state; the first process is the preparation when the source is a photo folder."""
        self.request, self.state, self.cancelling = request, RunState(), False
        prep = request.prepare_args()
        return Launch(Phase.PREPARE, prep) if prep is not None else Launch(Phase.TRAIN, request.train_args("-"))

    def resume(self) -> Launch:
        """Continue the run from its last checkpoint (the CANCEL file of the last cancel removed)."""
        assert self.request is not None, "nothing to resume"
        (self.request.run_dir / "CANCEL").unlink(missing_ok=True)
        self.state.status, self.state.message = "running", ""
        return Launch(Phase.TRAIN, self.request.train_args("-", resume=True))

    def launched(self, phase: Phase) -> None:
        self.phase, self._stdout = Phase(phase), b""
        self.state.status = "preparing" if phase == Phase.PREPARE else "running"

    def start_failed(self) -> None:
        self.phase = Phase.IDLE

    # ----- reading the process ------------------------------------------------------------------------------------
    def read_stdout(self, data: bytes) -> list[str]:
        """Feed stdout bytes (events are JSON lines; a partial line waits for the rest); returns log lines."""
        self._stdout += data
        *lines, self._stdout = self._stdout.split(b"\n")
        log = []
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            event = self.state.feed_line(line)
            if event is None and line.strip():
                log.append(line)
            elif event is not None and event.get("event") == "finished" and "counts" in event:
                log.append(self.state.message)  # the preparation's summary
            elif event is not None and event.get("event") in LOGGED_EVENTS:
                log.append(describe_event(event))
        return log

    @staticmethod
    def read_stderr(text: str) -> list[str]:
        """stderr text -> log lines (tqdm's redrawn progress bars left out)."""
        return [line for line in text.replace("\r", "\n").splitlines() if line.strip() and not is_progress_bar(line)]

    # ----- stopping -----------------------------------------------------------------------------------------------
    def request_cancel(self) -> None:
        """Ask the trainer to stop with a checkpoint: a CANCEL file in the run folder (the process gets SIGTERM)."""
        assert self.request is not None
        self.cancelling = True
        try:
            self.request.run_dir.mkdir(parents=True, exist_ok=True)
            (self.request.run_dir / "CANCEL").write_text("cancelled from the GUI\n")
        except OSError:
            pass
        self.state.message = "cancelling: saving a checkpoint…"

    def fail(self, message: str) -> None:
        self.state.status, self.state.message = "error", message

    def exited(self, code: int, crashed: bool) -> ExitOutcome:
        """The process of the current phase ended with `code` (crashed: killed by a signal)."""
        if self._stdout:
            self.state.feed_line(self._stdout.decode("utf-8", "replace"))
            self._stdout = b""
        phase, self.phase = self.phase, Phase.IDLE
        s, req = self.state, self.request
        out = ExitOutcome()
        if phase == Phase.PREPARE:
            if code == 0 and s.status != "error" and req is not None:
                s.status = "running"
                out.log.append(f"dataset prepared in {req.dataset_dir}")
                out.launch = Launch(Phase.TRAIN, req.train_args("-"))
                return out
            if s.status == "cancelled" or crashed:
                s.status, s.message = "cancelled", "preparation cancelled"
            elif s.status != "error":
                out.failure = f"preparing the dataset failed (exit code {code}); see the log"
        elif s.status == "finished":
            s.message = f"finished: '{req.model}:{req.export_name}' is now in the model list" if req else "finished"
            out.finished = s.message
        elif s.status == "cancelled" or (self.cancelling and code == 0):
            s.status = "cancelled"
            s.message = s.message or "cancelled; the checkpoint is kept, Resume continues from it"
        elif s.status != "error":
            out.failure = f"the trainer stopped unexpectedly (exit code {code}); see the log"
        else:
            out.trainer_error = s.message
        self.cancelling = False
        return out

    # ----- what the dialog shows ------------------------------------------------------------------------------------
    def resumable(self, running: bool) -> bool:
        """Resume makes sense: nothing runs, the run stopped early, and it left a checkpoint."""
        return (not running and self.request is not None and self.state.status in ("cancelled", "error")
                and (self.request.run_dir / "training_states").exists())

    def status_text(self) -> str:
        s = self.state
        speed = f", {s.images_per_s:.1f} img/s" if s.images_per_s else ""
        prep = f" {s.prepared[0]}/{s.prepared[1]} photos" if s.prepared else ""
        text = {"preparing": f"preparing the dataset…{prep}", "running": f"step {s.step}/{s.total}{speed}"}.get(
            s.status, s.status)
        if s.message:
            text = s.message if s.status in ("finished", "cancelled", "error") else f"{text} — {s.message}"
        return text
