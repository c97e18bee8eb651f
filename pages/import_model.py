import streamlit as st

from lstm_viz.rules.errors import ModelFileError
from lstm_viz.io.export import MAX_MODEL_FILE_BYTES
from lstm_viz.io.model_upload import read_uploaded_model, trainer_from_upload
from lstm_viz.ui import page_schemas, page_url, services, session_run, state

state.init_session()
# Nothing of this page goes in the address: its only widget is the file upload, and a file cannot be in a link.
# The call takes the other pages' settings out of the address, as on Home (a link to this page is just the page).
page_url.sync(page_schemas.IMPORT_MODEL)

st.title("Import a model")
st.markdown(
    "Explore a model you exported again: upload one of the `.safetensors` files from a run's **Model** download "
    "(the zip holds one per architecture). Its gates, states and gradients appear on the Train page as if it had "
    "just trained here. Only files this app exported are accepted; pickles and PyTorch `.pt` files are refused "
    "unopened, because loading them can run any code."
)
uploaded = st.file_uploader(
    "Model file (.safetensors)", key="import_model_file", max_upload_size=MAX_MODEL_FILE_BYTES // 2**20 + 1,
    help=f"At most {MAX_MODEL_FILE_BYTES // 2**20} MB.",
)
if uploaded is not None and st.session_state.get("import_model_done") != uploaded.file_id:
    st.session_state["import_model_done"] = uploaded.file_id
    try:
        upload = read_uploaded_model(uploaded.getvalue(), uploaded.name)
        # Measuring the model on its test and probe sets is work like a training's: a job of the server's scheduler.
        trainer = services.run_job(lambda ticket: trainer_from_upload(upload), kind="import",
                                units=upload.run_config.estimated_step_gflop() * upload.run_config.eval_size
                                / max(1, upload.run_config.batch_size),
                                label="measuring the uploaded model")
        if trainer is None:
            raise ModelFileError("the server stopped measuring the model before it finished (a restart); try again")
    except ModelFileError as error:
        st.session_state["import_model_message"] = ("error", f"Refused: {error}")
    else:
        session_run.explore_imported(trainer)
        run = next(iter(trainer.runs.values()))
        config = trainer.config
        note = ("" if upload.config_from_file else
                f" The file does not say which run it came from, so it is shown on the {trainer.task.label} at "
                f"T = {config.length}, seed {config.seed}.")
        st.session_state["import_model_message"] = (
            "success",
            (f"Loaded **{run.label}** ({config.num_layers} layer{'s' if config.num_layers > 1 else ''} of "
             f"{config.hidden_size} units) from `{upload.file_name}`: {trainer.task.label}, T = {config.length}, "
             f"trained {upload.steps_trained} steps; test {trainer.task.metric_name} "
             f"{run.last_metric:.4f} (no-memory baseline {trainer.baseline:.3f}).{note}"),
        )
elif uploaded is None:
    st.session_state.pop("import_model_done", None)
    st.session_state.pop("import_model_message", None)

message = st.session_state.get("import_model_message")
if message is not None:
    kind, text = message
    (st.error if kind == "error" else st.success)(text)
    if kind == "success":
        st.page_link("pages/train.py", label="Explore it on the Train page", icon=":material/monitoring:")
