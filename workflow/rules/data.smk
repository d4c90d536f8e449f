# catalog -> images -> array store -> splits


rule mock_sample:
    output:
        catalog=f"{RESULTS}/mock/catalog_raw.parquet",
        images=directory(f"{RESULTS}/mock/images"),
    log:
        f"{RESULTS}/logs/mock_sample.log",
    params:
        mock=config["data"].get("mock"),
    script:
        "../scripts/mock_sample.py"


rule fetch_catalog:
    output:
        "resources/nair_abraham/table2.parquet",
    log:
        "resources/nair_abraham/fetch_catalog.log",
    params:
        settings=NA,
    script:
        "../scripts/fetch_catalog.py"


# The cutouts go to resources/sdss/cutouts/ and are deliberately not an output:
# Snakemake deletes the outputs of a failed job, and a failed or interrupted
# download must keep every valid file it already has. The manifest records them.
rule download_cutouts:
    input:
        "resources/nair_abraham/table2.parquet",
    output:
        manifest=f"{RESULTS}/download_manifest.parquet",
    log:
        f"{RESULTS}/logs/download_cutouts.log",
    params:
        settings=NA,
        image_dir="resources/sdss/cutouts",
    script:
        "../scripts/download_cutouts.py"


rule catalog:
    input:
        unpack(get_catalog_input),
    output:
        f"{RESULTS}/catalog.parquet",
    log:
        f"{RESULTS}/logs/catalog.log",
    params:
        data=config["data"],
        classes=config["classes"],
        image_dir="resources/sdss/cutouts",
    script:
        "../scripts/catalog.py"


rule array_store:
    input:
        f"{RESULTS}/catalog.parquet",
    output:
        f"{RESULTS}/images.npy",
    log:
        f"{RESULTS}/logs/array_store.log",
    params:
        size=config["image_size"],
    threads: 4
    script:
        "../scripts/array_store.py"


rule splits:
    input:
        f"{RESULTS}/catalog.parquet",
    output:
        f"{RESULTS}/splits.parquet",
    log:
        f"{RESULTS}/logs/splits.log",
    params:
        runs=S.split_runs(config),
        splits=config["splits"],
    script:
        "../scripts/splits.py"


rule fetch_weights:
    output:
        "resources/weights/{file_name}",
    log:
        "resources/weights/{file_name}.log",
    params:
        architecture=get_weights_architecture,
        mirror=config.get("weights_mirror"),
    script:
        "../scripts/fetch_weights.py"


rule sample_summary:
    input:
        get_sample_summary_input,
    output:
        table("sample_summary"),
        report_table("sample_summary"),
    log:
        f"{RESULTS}/logs/sample_summary.log",
    params:
        classes=config["classes"],
    group:
        "summary"
    script:
        "../scripts/analysis.py"
