# catalog -> images -> array store -> splits. The catalog's inputs come from the
# data kind (galaxy_pretraining.data.kinds); the rules that fetch or make them follow.

from galaxy_pretraining.models.registry import sha256_record


rule mock_sample:
    output:
        catalog=mock.raw_table(RESULTS),
        images=directory(mock.image_dir(RESULTS)),
    log:
        f"{RESULTS}/logs/mock_sample.log",
    conda:
        CONDA_ENV
    params:
        mock=study.data_settings("mock"),
    script:
        "../scripts/mock_sample.py"


rule fetch_catalog:
    output:
        nair_abraham.RAW_TABLE,
    log:
        "resources/nair_abraham/fetch_catalog.log",
    localrule: True
    conda:
        CONDA_ENV
    params:
        settings=study.data_settings("nair_abraham"),
    script:
        "../scripts/fetch_catalog.py"


# The cutouts are deliberately not an output: Snakemake deletes the outputs of a
# failed job, and a failed or interrupted download must keep every valid file it
# already has. The manifest records them.
rule download_cutouts:
    input:
        nair_abraham.RAW_TABLE,
    output:
        manifest=nair_abraham.manifest(RESULTS),
    log:
        f"{RESULTS}/logs/download_cutouts.log",
    localrule: True
    conda:
        CONDA_ENV
    params:
        settings=study.data_settings("nair_abraham"),
        image_dir=nair_abraham.CUTOUT_DIR,
    script:
        "../scripts/download_cutouts.py"


# Galaxy10 DECaLS (2.54 GB): fetched once into resources/, resumable (the partial
# file <name>.part is not an output, so a failed job keeps it), and renamed to its
# final name only when its sha256 is right.
rule fetch_galaxy10:
    output:
        galaxy10_decals.FILE,
    log:
        "resources/galaxy10_decals/fetch.log",
    localrule: True
    conda:
        CONDA_ENV
    params:
        settings=study.data_settings("galaxy10_decals"),
    script:
        "../scripts/fetch_galaxy10.py"


rule mock_galaxy10:
    output:
        galaxy10_decals.mock_file(RESULTS),
    log:
        f"{RESULTS}/logs/mock_galaxy10.log",
    conda:
        CONDA_ENV
    params:
        mock=study.mock_settings("galaxy10_decals"),
    script:
        "../scripts/mock_galaxy10.py"


# Galaxy Zoo 2 needs a Kaggle login: nothing fetches it. When its files are not in
# data.galaxy_zoo2.path, this rule fails saying which files, where to get them and where to put them.
if study.needs_galaxy_zoo2_files:

    rule galaxy_zoo2_files:
        output:
            study.galaxy_zoo2_solutions_file,
        log:
            f"{RESULTS}/logs/galaxy_zoo2_files.log",
        conda:
            CONDA_ENV
        params:
            folder=lambda wildcards, output: os.path.dirname(output[0]),
        script:
            "../scripts/galaxy_zoo2_files.py"


rule mock_galaxy_zoo2:
    output:
        galaxy_zoo2.mock_solutions_file(RESULTS),
    log:
        f"{RESULTS}/logs/mock_galaxy_zoo2.log",
    conda:
        CONDA_ENV
    params:
        mock=study.mock_settings("galaxy_zoo2"),
    script:
        "../scripts/mock_galaxy_zoo2.py"


rule catalog:
    input:
        unpack(get_catalog_input),
    output:
        catalog=study.paths.listed_catalog,
        image_digest=study.paths.image_digest,
    log:
        f"{RESULTS}/logs/catalog.log",
    conda:
        CONDA_ENV
    params:
        data=study.data,
        classes=study.classes,
    script:
        "../scripts/catalog.py"


# The image files are not inputs one by one (28,790 for Zhu et al.): the digest the
# catalog rule writes stands for them, rewritten when one changes (data.image_digest.refresh_image_digest).
# The store checks each image as it decodes it (transparency, shape, identical images, the
# folder kind's no-data screening), lists what it found in image_checks.parquet and writes
# catalog.parquet: the rows it kept (an image dropped by duplicate_images or no_data_images
# is in neither), which the splits, the training jobs and the tables read.
rule array_store:
    input:
        catalog=study.paths.listed_catalog,
        image_digest=study.paths.image_digest,
    output:
        store=study.paths.store,
        catalog=study.paths.catalog,
        image_checks=study.paths.image_checks,
    log:
        f"{RESULTS}/logs/array_store.log",
    conda:
        CONDA_ENV
    threads: 4
    resources:
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        **study.store_params,
    script:
        "../scripts/array_store.py"


rule splits:
    input:
        study.paths.catalog,
    output:
        study.paths.splits,
    log:
        f"{RESULTS}/logs/splits.log",
    conda:
        CONDA_ENV
    params:
        runs=study.split_runs,
        splits=study.split,
    script:
        "../scripts/splits.py"


# torchvision's and the packages' files (*.pth) carry their hash in their name; the hub's (timm architectures)
# do not, so their fetch writes the sha256 the hub states beside them, and every use checks it.
rule fetch_weights:
    output:
        "resources/weights/{file_name}",
    log:
        "resources/weights/{file_name}.log",
    wildcard_constraints:
        file_name=r"[^/]+\.pth",
    localrule: True
    conda:
        CONDA_ENV
    params:
        source=get_weights_source,
        mirror=study.weights_mirror,
        hub_endpoint=study.hub_endpoint,
    script:
        "../scripts/fetch_weights.py"


rule fetch_hub_weights:
    output:
        "resources/weights/{file_name}",
        sha256_record("resources/weights/{file_name}"),
    log:
        "resources/weights/{file_name}.log",
    wildcard_constraints:
        file_name=r"[^/]+\.(bin|safetensors)",
    localrule: True
    conda:
        CONDA_ENV
    params:
        source=get_weights_source,
        mirror=study.weights_mirror,
        hub_endpoint=study.hub_endpoint,
    script:
        "../scripts/fetch_weights.py"
