# BERT for TensorFlow in a container: Python 3.11, TensorFlow 2.18.1 and Horovod 0.28.1 installed by
# scripts/setup.sh into /workspace/bert/.venv (on PATH).
#
#   docker build -t bert-tf .                              TensorFlow CPU; Horovod with Gloo
#   docker build -t bert-tf --build-arg WITH_MPI=1 .       Horovod with MPI as well (for run.sub's srun)
#   docker build -t bert-tf-gpu --build-arg TF_PACKAGE="tensorflow[and-cuda]==2.18.1" .
#                                                          GPU TensorFlow (CUDA from pip); Horovod is still
#                                                          built without NCCL: its all-reduce runs on the CPU
#   docker run --rm -v "$PWD/data:/workspace/bert/data" -v "$PWD/results:/workspace/bert/results" bert-tf \
#       bash scripts/run_pretraining_lamb.sh 16 4 16 1e-2 5e-3 fp32 false 1 50 10 500 100 1 2 tiny
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
RUN if [ -n "$TF_PACKAGE" ]; then sed -i "s|^tensorflow-cpu==.*|$TF_PACKAGE|" requirements.txt; fi \
    && bash scripts/setup.sh $([ "$WITH_MPI" = 1 ] && echo --mpi) \
    && cp requirements.txt .venv/requirements.installed.txt \
    && rm -rf /root/.cache/pip
COPY . .
# Keep the requirements.txt the virtualenv was built from, so that setup.sh re-run in the container is a no-op.
RUN cp .venv/requirements.installed.txt requirements.txt
ENV PATH=/workspace/bert/.venv/bin:$PATH TF_CPP_MIN_LOG_LEVEL=2
CMD ["bash"]
