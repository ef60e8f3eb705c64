# BERT for TensorFlow in a container: Python 3.11, TensorFlow 2.18.1 and Horovod 0.28.1 installed by
# scripts/setup.sh (the same steps as on a host) into /opt/bert-venv (on PATH, and PYTHON for the launchers),
# outside /workspace/bert so that NVIDIA's mount of the repository there (scripts/docker/launch.sh) keeps it.
#
#   bash scripts/docker/build.sh                           TensorFlow CPU; Horovod with Gloo (image "bert")
#   WITH_MPI=1 bash scripts/docker/build.sh                Horovod with MPI as well (for run.sub's srun)
#   TF_PACKAGE="tensorflow[and-cuda]==2.18.1" bash scripts/docker/build.sh
#                                                          GPU TensorFlow (CUDA from pip); Horovod is still
#                                                          built without NCCL: its all-reduce runs on the CPU
#   bash scripts/docker/launch.sh bash scripts/run_pretraining_lamb.sh \
#       $(source scripts/configs/pretrain_config.sh && cpu_2core_fp32)
FROM python:3.11-slim

ARG WITH_MPI=0
ARG TF_PACKAGE=

RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ cmake make \
    && if [ "$WITH_MPI" = 1 ]; then apt-get install -y --no-install-recommends libopenmpi-dev openmpi-bin; fi \
    && rm -rf /var/lib/apt/lists/*
# Open MPI refuses to start as root without these.
ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

WORKDIR /workspace/bert
# The requirements and the set-up script first: the virtualenv (and the ~5 min Horovod build) stays cached
# while the code changes. TF_PACKAGE replaces tensorflow-cpu, as requirements.txt tells GPU users to.
COPY requirements.txt requirements-model.txt ./
COPY scripts/setup.sh scripts/
ENV BERT_VENV=/opt/bert-venv
RUN if [ -n "$TF_PACKAGE" ]; then sed -i "s|^tensorflow-cpu==.*|$TF_PACKAGE|" requirements.txt; fi \
    && bash scripts/setup.sh $([ "$WITH_MPI" = 1 ] && echo --mpi) \
    && cp requirements.txt "$BERT_VENV/requirements.installed.txt" \
    && rm -rf /root/.cache/pip
COPY . .
# Keep the requirements.txt the virtualenv was built from, so that setup.sh re-run in the container is a no-op.
RUN cp "$BERT_VENV/requirements.installed.txt" requirements.txt
ENV PATH=/opt/bert-venv/bin:$PATH PYTHON=/opt/bert-venv/bin/python TF_CPP_MIN_LOG_LEVEL=2
CMD ["bash"]
