"""The pybroker server: networking, request handlers, coordinators and cluster membership."""
