"""Data page: choose a data set, load it with a progress bar, preview real images; the choice carries over to Train."""

from __future__ import annotations

import streamlit as st

from workbench import data, navigation, session

SIZES = ["native", *map(str, data.SUPPORTED_SIZES)]  # sizes every architecture supports
CHANNELS = ["native", "RGB (3)", "grayscale (1)"]
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "zip"]


def size_label(option: str) -> str:
    return "native size" if option == "native" else f"{option} x {option}"


def data_form(stored: data.DataConfig) -> tuple[data.DataConfig, list]:
    """The widgets of the chosen set; returns the DataConfig they describe (data_dir None for uploads) and uploads."""
    session.default("data_name", stored.name)
    name = st.selectbox("Data set", data.dataset_names(), key="data_name", format_func=data.dataset_label,
                        persist_state="session")
    st.caption(data.dataset_description(name))
    same = stored.name == name  # start from the stored choice only for the set it describes
    values: dict = {"name": name}
    uploads: list = []
    if name in data.POINT_DATASETS:  # 2-D points: only how many
        session.default("data_num_points", int(stored.num_samples) if same else 100_000)
        values["num_samples"] = int(st.number_input("Number of points", 16, 200_000, step=1000,
                                                    key="data_num_points", persist_state="session"))
        return data.form_config(values), uploads
    col1, col2 = st.columns(2)
    with col1:
        if name == "shapes":
            session.default("data_shapes_mode", stored.shapes_mode)
            values["shapes_mode"] = st.radio("Shapes", ["mixed", "triangles"], key="data_shapes_mode", horizontal=True,
                                             persist_state="session",
                                             format_func={"mixed": "mixed (triangles, squares, circles)",
                                                          "triangles": "colored triangles (tutorial)"}.get)
            session.default("data_num_samples", int(stored.num_samples))
            values["num_samples"] = int(st.number_input("Number of images", 16, 200_000, step=256,
                                                        key="data_num_samples", persist_state="session"))
        else:
            key = f"data_dir_{name}"
            kept_upload = stored.data_dir if same and data.upload_name(stored.data_dir) else None
            session.default(key, (stored.data_dir or "") if same and not kept_upload else "")  # never a server path
            label = {"celeba": "Folder or img_align_celeba.zip (required)",
                     "folder": "...or a folder / .zip on this machine"}.get(name, "Folder with local files (optional)")
            if name == "folder":
                uploads = st.file_uploader("Upload several images or a .zip", type=UPLOAD_TYPES,
                                           accept_multiple_files=True, key="data_upload_files") or []
            elif data.installable(name):  # any type: the IDX and CIFAR batch files have no extension
                uploads = st.file_uploader(f"Upload the {data.dataset_label(name)} files", accept_multiple_files=True,
                                           key=f"data_upload_{name}", help=f"{data.expected_files(name)}. They are "
                                           f"kept in {data.install_folder(name)}, found there from then on.") or []
            if uploads:  # the server's own word that the files arrived (the list above shows them while they upload)
                st.caption(data.received(uploads))
            # A set the app finds by itself shows where it looks; other sets need a folder on this machine.
            hint = str(data.install_folder(name)) if data.installable(name) else "a folder on this machine"
            values["data_dir"] = st.text_input(label, key=key, persist_state="session",
                                               placeholder=f"{hint}").strip() or None
            if kept_upload and not values["data_dir"] and not uploads:  # the upload chosen earlier stays the choice
                values["data_dir"] = kept_upload
                st.caption(f"Using {data.upload_name(kept_upload)}: upload other images or type a folder to change "
                           "it.")
            if data.downloadable(name):
                session.default("data_download", bool(stored.download))
                values["download"] = st.checkbox("Download when no local files are found", key="data_download",
                                                 persist_state="session")
    with col2:
        # One size and channels box per set: a choice made for one set never carries over to another.
        size_key, channels_key = f"data_image_size_{name}", f"data_channels_{name}"
        session.default(size_key, str(stored.image_size) if same and stored.image_size else "native")
        size = st.selectbox("Image size", SIZES, key=size_key, format_func=size_label, persist_state="session")
        values["image_size"] = None if size == "native" else int(size)
        if name != "shapes":
            channels_default = {None: "native", 3: "RGB (3)", 1: "grayscale (1)"}[stored.channels if same else None]
            session.default(channels_key, channels_default)
            channels = st.selectbox("Channels", CHANNELS, key=channels_key, persist_state="session")
            values["channels"] = {"native": None, "RGB (3)": 3, "grayscale (1)": 1}[channels]
            session.default("data_max_images", int(stored.max_images or 0) if same else 0)
            cap = st.number_input("Use at most this many images (0 = all)", 0, 10_000_000, step=1000,
                                  key="data_max_images", persist_state="session")
            values["max_images"] = int(cap) or None
    return data.form_config(values), uploads


def load(cfg: data.DataConfig, uploads: list) -> None:
    """Load with a progress bar; on success the config becomes the session's chosen data set."""
    bar = st.progress(0.0, text=f"Loading {cfg.name}...")
    try:
        data.load_choice(cfg, uploads, lambda f, msg: bar.progress(min(max(float(f), 0.0), 1.0), text=msg))
    except session.USER_ERRORS as e:
        st.error(str(e))
    bar.empty()


def preview(cfg: data.DataConfig) -> None:
    images = data.data_store().get(cfg)
    if images is None:
        st.info(f"Chosen data set: {data.dataset_summary(cfg)}. Press **Load and preview** to see its images.")
        return
    c, h, w = images.shape
    st.subheader("Chosen data set")
    if images.is_points:  # 2-D points: their count, modes and a scatter plot
        cols = st.columns(2)
        cols[0].metric("Points", f"{len(images):,}")
        cols[1].metric("Modes", str(len(images.modes)) if images.modes is not None else "none (curves)")
        st.image(data.preview_image(images), caption="The real points", width="content")
        st.page_link(navigation.TRAIN_PAGE, label="Train on this data", icon=":material/arrow_forward:")
        return
    cols = st.columns(4)
    cols[0].metric("Images", f"{len(images):,}")
    cols[1].metric("Size", f"{h} x {w}")
    cols[2].metric("Channels", "RGB (3)" if c == 3 else "grayscale (1)")
    cols[3].metric("Classes", str(images.num_classes) if images.num_classes else "none")
    count = f"{len(images):,} image{'s' if len(images) != 1 else ''}"
    st.markdown(f"**{count}** of {h} x {w} pixels, {c} channel{'s' if c > 1 else ''}"
                + (f"; classes: {', '.join(images.class_names)}" if images.class_names else "."))
    notices = list(images.notices)
    if notices:
        st.warning(notices[0])
        if len(notices) > 1:
            with st.expander(f"All {len(notices)} notices (skipped files and why)"):
                st.text("\n".join(notices[1:]))
    st.image(data.preview_image(images), caption="The first real images", width="content")
    st.page_link(navigation.TRAIN_PAGE, label="Train on this data", icon=":material/arrow_forward:")


def data_folders() -> None:
    """What the data folder holds: files put there are found without typing a path."""
    found = data.found_folders()
    with st.expander(f"Data folder: {data.data_root()} ({len(found)} sub-folder{'s' if len(found) != 1 else ''})"):
        st.caption("MNIST, Fashion-MNIST and CIFAR-10 files in these folders are found without typing a path; "
                   "the uploaders above put them here.")
        if found:
            st.dataframe([{"folder": f.name, "holds": f.holds} for f in found], hide_index=True,
                         key="data_folders_table")
        else:
            st.caption("Nothing here yet.")


navigation.run_inside_app()
st.title("Data")
st.markdown("Choose the images the GAN learns to imitate. The choice carries over to the **Train** page.")
session.show_flash()
stored = data.chosen_data()
cfg, uploads = data_form(data.form_start())
if st.button("Load and preview", key="data_load_btn", type="primary"):
    load(cfg, uploads)
    stored = data.chosen_data()
elif stored is not None and (stored.name != cfg.name or (cfg.name == "shapes" and stored != cfg)):
    st.caption("The settings above differ from the chosen data set: press **Load and preview** to use them.")
if stored is not None:
    preview(stored)
data_folders()
