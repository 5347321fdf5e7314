-- The second database: each service owns its own.
create database chat;
