# pybroker image: a Kafka-compatible broker. Configure with --override key=value arguments or
# mount a server.properties over /opt/pybroker/config/server.properties. The image also holds
# config/docker/broker-{1,2,3}.properties, which docker-compose.yml runs as a three-broker
# cluster on ZooKeeper (it replaces the entrypoint with `python -m pybroker <that file>`).
FROM python:3.11-slim

WORKDIR /opt/pybroker
COPY pyproject.toml README.md ./
COPY pybroker ./pybroker
COPY protocol ./protocol
COPY storage ./storage
COPY config ./config
RUN pip install --no-cache-dir . && mkdir -p /var/lib/pybroker

EXPOSE 9092
VOLUME ["/var/lib/pybroker"]
ENTRYPOINT ["python", "-m", "pybroker", "/opt/pybroker/config/server.properties", \
            "--override", "log.dirs=/var/lib/pybroker"]
CMD ["--override", "listeners=PLAINTEXT://0.0.0.0:9092", \
     "--override", "advertised.listeners=PLAINTEXT://localhost:9092"]
